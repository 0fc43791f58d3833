"""The inbox: drafts waiting for an operator, and the decisions that reach their ApprovalWorkflow."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query
from pydantic import BaseModel, Field, ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ActivityError
from temporalio.service import RPCError, RPCStatusCode

from activities.notify import notify
from api import alerts
from api.customers import DiaryEntry, diary_entry
from api.deps import DbDep, OperatorDep, TemporalDep
from api.errors import Conflict, NotFound, Unauthorized, Unavailable, Unprocessable, responses
from db import customers, drafts, scans
from schemas.evidence import EvidenceItem
from schemas.verdict import FactorBreakdown
from schemas.workflow_io import DecisionResult, EditRequest, SendRequest, SkipRequest
from workflows.approval import ApprovalWorkflow

router = APIRouter(prefix="/v1/drafts", tags=["drafts"])
ALERT_RATE = alerts.ALERT_RATE
# How long a request waits for its decision to complete in the workflow (the send includes the SMTP conversation).
# Past it the operator gets a 503 and may press again: the update id is the same, so it is still applied once.
DECISION_TIMEOUT_S = 30.0


class DraftSummary(BaseModel):
    id: str
    customer_id: str
    customer_name: str
    run_date: str
    kind: str
    classification: str
    severity: str
    route: str
    arr_usd: float
    subject: str
    status: str


class Alert(BaseModel):
    kind: Literal["validation_failure_rate", "route_mix_drift"]
    message: str


class DraftList(BaseModel):
    items: list[DraftSummary]
    total: int = Field(description="drafts matching the filters, across all pages")
    limit: int
    offset: int
    validation_failure_rate_24h: float
    route_mix: dict[str, float] = Field(default_factory=dict, description="the latest completed scan's route mix")
    route_mix_drift: list[str] = Field(default_factory=list, description="tiers outside their target band")
    banner: str | None = Field(
        None,
        description="set when on-call should look: more than 5 % of the last day's "
        "verdicts failed validation, or the route mix left its bands",
    )
    alerts: list[Alert] = Field(default_factory=list)


class Factors(FactorBreakdown):
    notes: list[str] = Field(default_factory=list, description="what validation demoted or dropped, and why")


class DraftDetail(DraftSummary):
    to_email: str
    body: str
    anchors: list[str]
    evidence: list[EvidenceItem]
    missing_sources: dict[str, str] = Field(default_factory=dict, description="source -> why it is missing")
    factors: Factors | None = Field(
        description="each factor's score, weight and contribution; the total; the factor that pushed it across"
    )
    abstain_reason: str | None = None
    diary_entry: DiaryEntry | None = Field(description="this run's paragraph")
    previous_diary_entry: DiaryEntry | None = Field(description="the run before's, to read side by side")
    diary: list[DiaryEntry] = Field(description="newest first, at most five runs")


# These travel through the workflow to Postgres, which cannot store NUL: refuse it here, not ten retries later.
NO_NUL = r"^[^\x00]*$"


class EditBody(BaseModel):
    subject: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    body: str = Field(min_length=1, max_length=5000, pattern=NO_NUL)


class SkipBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


def _summary(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "customer_id": r["customer_id"],
        "customer_name": r["customer_name"],
        "run_date": r["run_date"].isoformat(),
        "kind": r["kind"],
        "classification": r["classification"],
        "severity": r["severity"],
        "route": r["route"],
        "arr_usd": r["arr_cents"] / 100,
        "subject": r["subject"],
        "status": r["status"],
    }


def _cents(usd: float | None) -> int | None:
    return None if usd is None else round(usd * 100)


@router.get("", response_model=DraftList, responses=responses(Unauthorized))
async def list_drafts(
    op: OperatorDep,
    db: DbDep,
    background: BackgroundTasks,
    status: Literal["pending", "sent", "skipped"] = "pending",
    classification: Literal["expansion", "standard", "at_risk", "likely_churn"] | None = None,
    severity: Literal["LOW", "MEDIUM", "HIGH"] | None = None,
    route: Literal["TIER1", "TIER2", "TIER3"] | None = None,
    min_arr_usd: float | None = Query(None, ge=0, le=1e9),
    max_arr_usd: float | None = Query(None, ge=0, le=1e9),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> DraftList:
    """The inbox, HIGH severity and the largest accounts first, with the alerts on-call watches."""
    filters: dict[str, Any] = {
        "classification": classification,
        "severity": severity,
        "route": route,
        "min_arr_cents": _cents(min_arr_usd),
        "max_arr_cents": _cents(max_arr_usd),
    }
    async with db.tenant(op.tenant_id) as conn:
        rows = await drafts.list_drafts(conn, op.tenant_id, status, limit, offset, **filters)
        total = await drafts.count_drafts(conn, op.tenant_id, status, **filters)
        reading = await alerts.read(conn, op.tenant_id)
    for text in reading.to_notify:  # after the commit and after the response: a slow webhook delays nobody
        background.add_task(notify, reading.webhook, text)
    found: list[Alert] = []
    if reading.validation_failure_rate > ALERT_RATE:
        found.append(Alert(kind="validation_failure_rate", message=reading.banners[0]))
    if reading.route_mix_drift:
        found.append(Alert(kind="route_mix_drift", message=reading.banners[-1]))
    return DraftList(
        items=[DraftSummary(**_summary(r)) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
        validation_failure_rate_24h=round(reading.validation_failure_rate, 4),
        route_mix={k: round(v, 3) for k, v in reading.route_mix.items()},
        route_mix_drift=reading.route_mix_drift,
        banner=" · ".join(reading.banners) or None,
        alerts=found,
    )


def _factors(raw: Any) -> Factors | None:
    try:
        return Factors.model_validate(raw)
    except ValidationError:  # a verdict recorded without the factor math (an abstention written by hand)
        return None


@router.get("/{draft_id}", response_model=DraftDetail, responses=responses(Unauthorized, NotFound))
async def get_draft(draft_id: str, op: OperatorDep, db: DbDep) -> DraftDetail:
    """A draft with its evidence, the factor math of its verdict, and this run's diary beside the previous one."""
    async with db.tenant(op.tenant_id) as conn:
        row = await drafts.draft_detail(conn, draft_id)
        if row is None:
            raise NotFound(f"draft {draft_id} not found")
        bundle = (await scans.load_bundles(conn, op.tenant_id, row["run_date"], [row["customer_id"]]))[
            row["customer_id"]
        ]
        entries = [diary_entry(r) for r in await customers.diary(conn, row["customer_id"], limit=5)]
    run = row["run_date"].isoformat()
    return DraftDetail(
        **_summary(row),
        to_email=row["to_email"],
        body=row["body"],
        anchors=list(row["anchors"]),
        evidence=bundle.items,
        missing_sources=bundle.missing,
        factors=_factors(row["factors"]),
        abstain_reason=row["abstain_reason"],
        diary_entry=next((e for e in entries if e.run_date == run), None),
        previous_diary_entry=next((e for e in entries if e.run_date < run), None),
        diary=entries,
    )


async def _decide(
    db: DbDep, temporal: Client, op: OperatorDep, draft_id: str, update: Any, arg: BaseModel, update_id: str
) -> DecisionResult:
    async with db.tenant(op.tenant_id) as conn:
        row = await drafts.get_draft(conn, draft_id)
        retry_after = await drafts.failed_send_claimed_at(conn, draft_id) if update is ApprovalWorkflow.send else None
    if row is None:
        raise NotFound(f"draft {draft_id} not found")
    if retry_after is not None:
        # The last send failed before the SMTP server accepted anything. Its update is finished (failed), and an
        # update id answers with its first outcome forever, so a new press needs a new id: one per failed claim,
        # still shared by every click that sees the same failure.
        update_id = f"{update_id}-retry-{int(retry_after.timestamp() * 1_000_000)}"
    handle = temporal.get_workflow_handle(row["workflow_id"])
    try:
        async with asyncio.timeout(DECISION_TIMEOUT_S):
            return await handle.execute_update(update, arg, id=update_id, result_type=DecisionResult)
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        while isinstance(cause, ActivityError) and cause.cause is not None:  # the activity's own error
            cause = cause.cause
        message = getattr(cause, "message", None) or str(cause)
        details = list(getattr(cause, "details", ()) or ())
        if getattr(cause, "type", None) == "EditRejected":
            raise Unprocessable(message, problems=details[0] if details else []) from e
        raise Conflict(message) from e
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as e:
        raise Unavailable(
            f"the decision on draft {draft_id} did not complete within {DECISION_TIMEOUT_S:.0f}s; "
            "it may still complete. Look again, or press again: the same decision is applied once"
        ) from e
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return await _workflow_gone(db, op, draft_id, row["workflow_id"], update, e)
        raise Unavailable(f"Temporal did not answer: {e.message}") from e


async def _workflow_gone(
    db: DbDep, op: OperatorDep, draft_id: str, workflow_id: str, update: Any, e: Exception
) -> DecisionResult:
    """The workflow is not running: it finished after a decision, or was terminated, or never started.
    Say what the ledger says, never a 500."""
    async with db.tenant(op.tenant_id) as conn:
        row = await drafts.get_draft(conn, draft_id)
        sent = await drafts.sent_record(conn, draft_id)
    status = row["status"] if row else "gone"
    if status == "sent" and update is ApprovalWorkflow.send:
        return DecisionResult(
            draft_id=draft_id, outcome="already_sent", message_id=sent["message_id"] if sent else None
        )
    if status == "pending":
        raise Conflict(
            f"draft {draft_id} is pending but its approval workflow {workflow_id} is not running "
            "(terminated, or never started); an engineer can look it up in the Temporal UI"
        ) from e
    raise Conflict(f"draft {draft_id} is {status}; its approval workflow is no longer running") from e


DECISION_ERRORS = responses(Unauthorized, NotFound, Conflict, Unprocessable, Unavailable)


@router.post("/{draft_id}/send", response_model=DecisionResult, responses=DECISION_ERRORS)
async def send(draft_id: str, op: OperatorDep, db: DbDep, temporal: TemporalDep) -> DecisionResult:
    """Send the draft. The update id is the draft's own, so a double click sends once (and answers
    `already_sent` to the later click)."""
    return await _decide(
        db, temporal, op, draft_id, ApprovalWorkflow.send, SendRequest(operator=op.name), f"send-{draft_id}"
    )


@router.post("/{draft_id}/edit", response_model=DecisionResult, responses=DECISION_ERRORS)
async def edit(draft_id: str, body: EditBody, op: OperatorDep, db: DbDep, temporal: TemporalDep) -> DecisionResult:
    """Replace the subject and body. The edit must still trace to the evidence: every number found in the cited
    items, every cited source in the customer's bundle; otherwise 422 with `problems` listing each failure."""
    digest = hashlib.sha256(f"{body.subject}\0{body.body}".encode()).hexdigest()[:16]
    return await _decide(
        db,
        temporal,
        op,
        draft_id,
        ApprovalWorkflow.edit,
        EditRequest(operator=op.name, subject=body.subject, body=body.body),
        f"edit-{draft_id}-{digest}",
    )


@router.post("/{draft_id}/skip", response_model=DecisionResult, responses=DECISION_ERRORS)
async def skip(draft_id: str, body: SkipBody, op: OperatorDep, db: DbDep, temporal: TemporalDep) -> DecisionResult:
    """Skip the draft, with the reason (kept in the audit log). A skipped draft can never be sent."""
    return await _decide(
        db,
        temporal,
        op,
        draft_id,
        ApprovalWorkflow.skip,
        SkipRequest(operator=op.name, reason=body.reason),
        f"skip-{draft_id}",
    )
