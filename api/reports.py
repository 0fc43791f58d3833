"""The stored health briefings and weekly digests: what they said, where they were posted, and a run-now."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api.deps import Day, DbDep, OperatorDep, TemporalDep
from api.errors import Conflict, NotFound, Unauthorized, Unavailable, responses
from core.clock import UnknownTimeZone, local_day
from db import claims as briefing_claims
from db import reports, tenants
from db.pool import Database
from schemas import ids, queues, search
from schemas.workflow_io import ReportInput
from workflows.reports import HealthBriefingWorkflow, WeeklyDigestWorkflow

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Kind = Literal["briefing", "digest"]


class ReportInfo(BaseModel):
    kind: str
    day: dt.date
    summary: dict[str, Any] = Field(description="counts and figures; every account with the source ids behind it")
    channel: str | None
    slack_ts: str | None = Field(description="set once the post succeeded; it is never posted again")
    post_error: str | None
    email_status: str | None
    email_to: list[str] | None


class Claim(BaseModel):
    customer_id: str
    claimed_by: str | None = Field(description="the operator whose Slack user pressed Mine first")
    claimed_at: dt.datetime | None
    escalated_at: dt.datetime | None = Field(description="when on-call was told it was still unclaimed")


class Report(ReportInfo):
    text: str
    blocks: list[dict[str, Any]]
    accounts: list[dict[str, Any]] = Field(
        default_factory=list, description="briefing only: every paying account, most urgent first"
    )
    claims: list[Claim] = Field(
        default_factory=list, description="briefing only: the cold accounts claimed with Mine, or escalated unclaimed"
    )


class ReportStarted(BaseModel):
    workflow_id: str
    day: dt.date


report_workflow_id = ids.report_by_hand


async def start_report(temporal: Any, tenant_id: str, kind: str, day: dt.date) -> str:
    """Run a report now for a day (joining a run already under way for it)."""
    wid = report_workflow_id(tenant_id, kind, day)
    await temporal.start_workflow(
        HealthBriefingWorkflow.run if kind == "briefing" else WeeklyDigestWorkflow.run,
        ReportInput(tenant_id=tenant_id, day=day),
        id=wid,
        task_queue=queues.MAIN,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search.attrs((search.TENANT, tenant_id), (search.RUN_DATE, day.isoformat())),
        static_summary=f"{kind} for {tenant_id}, {day.isoformat()} (started by hand)",
    )
    return wid


async def default_day(db: Database, tenant_id: str, kind: str) -> dt.date:
    """Today, counted as the report's Schedule counts it. A briefing's is the date in the tenant's time zone: run
    at 17:00 on a Monday in Los Angeles, it is Monday's briefing, not Tuesday's (the UTC date), which Tuesday's
    07:00 run would then find already posted. A digest's is the UTC date, as its Schedule (Mondays 12:00 UTC) has
    no time zone: the digest of the week before today."""
    now = dt.datetime.now(dt.UTC)
    if kind == "digest":
        return now.date()
    async with db.tenant(tenant_id) as conn:
        zone = await tenants.timezone(conn, tenant_id)
    if zone is None:
        raise LookupError(f"no tenant {tenant_id}")
    return local_day(now, zone)


def _info(r: Any) -> dict[str, Any]:
    return {
        k: r[k] for k in ("kind", "day", "summary", "channel", "slack_ts", "post_error", "email_status", "email_to")
    }


@router.get("", response_model=list[ReportInfo], responses=responses(Unauthorized))
async def list_reports(
    op: OperatorDep, db: DbDep, kind: Kind | None = None, limit: int = Query(30, ge=1, le=200)
) -> list[ReportInfo]:
    """The latest briefings and digests, newest first."""
    async with db.tenant(op.tenant_id) as conn:
        return [ReportInfo(**_info(r)) for r in await reports.listing(conn, kind, limit)]


@router.get("/{kind}/{day}", response_model=Report, responses=responses(Unauthorized, NotFound))
async def get_report(
    kind: Kind, day: Day, op: OperatorDep, db: DbDep, tier: Literal["hot", "warm", "cold"] | None = None
) -> Report:
    """One report as stored and posted; a briefing also lists every account's tier (filter with `tier`)."""
    async with db.tenant(op.tenant_id) as conn:
        row = await reports.get(conn, kind, day)
        if row is None:
            raise NotFound(f"no {kind} for {day}")
        accounts = (
            [
                {
                    "customer_id": s["customer_id"],
                    "name": s["name"],
                    "arr_usd": s["arr_cents"] / 100,
                    "tier": s["tier"],
                    "urgency": s["urgency"],
                    "recommendation": s["recommendation"],
                    "cites": s["cites"],
                    "source_ids": list(s["source_ids"]),
                    "read_by": s["reader"],
                    "note": s["note"],
                }
                for s in await reports.snapshots(conn, day, tier)
            ]
            if kind == "briefing"
            else []
        )
        claimed = [
            Claim(**{k: c[k] for k in ("customer_id", "claimed_by", "claimed_at", "escalated_at")})
            for c in (await briefing_claims.for_day(conn, day) if kind == "briefing" else [])
        ]
    return Report(**_info(row), text=row["text"], blocks=row["blocks"], accounts=accounts, claims=claimed)


@router.post(
    "/{kind}/run",
    response_model=ReportStarted,
    status_code=202,
    responses=responses(Unauthorized, Conflict, Unavailable),
)
async def run_report(
    kind: Kind, op: OperatorDep, db: DbDep, temporal: TemporalDep, day: Day | None = None
) -> ReportStarted:
    """Compose (and post) a report now, for `day` (default: today in the tenant's time zone for a briefing, in UTC
    for a digest, as their Schedules count days)."""
    try:
        when = day or await default_day(db, op.tenant_id, kind)
    except UnknownTimeZone as e:
        raise Conflict(f"this tenant's time zone {e} is not an IANA name such as Europe/Berlin; give `day`") from e
    try:
        wid = await start_report(temporal, op.tenant_id, kind, when)
    except RPCError as e:
        raise Unavailable(f"Temporal refused to start the {kind}: {e}") from e
    return ReportStarted(workflow_id=wid, day=when)
