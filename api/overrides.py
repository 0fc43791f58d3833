"""What changed per run, and operator overrides: `GET /v1/customers/{id}/changes`, `GET|POST|DELETE
/v1/customers/{id}/override`. An override is written to the diary (diary_notes) and the audit log in one
transaction; the scan still records its own verdict, shown beside it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import Day, DbDep, OperatorDep
from api.errors import Conflict, NotFound, Unauthorized, Unprocessable, responses
from core import changes as change_rules
from core import overrides as rules
from db import changes, customers, overrides, tenants
from schemas.changes import Override, OverrideVerdict, RunChanges

router = APIRouter(prefix="/v1/customers", tags=["customers"])
SHOWN = 30


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def override_of(r: Any) -> Override:
    return Override(**{k: r[k] for k in Override.model_fields})


class OverrideIn(BaseModel):
    verdict: OverrideVerdict = Field(
        description="the verdict to hold, or hold_standard to hold the account at standard"
    )
    reason: str = Field(min_length=1, max_length=1000, description="why; shown in the diary and the audit log")
    expires: dt.date = Field(description=f"the day it lapses: after today, at most {rules.MAX_DAYS} days ahead")


class OverrideState(BaseModel):
    customer_id: str
    override: Override | None = Field(description="the override holding now, if any")
    holds: bool
    scan_verdict: str | None = Field(description="the scan's own latest verdict, shown beside the override")
    scan_run_date: dt.date | None
    effective: str | None = Field(description="what drafts and reports use: the override while it holds")
    agrees: bool | None = Field(description="whether the override and the scan's verdict agree")
    history: list[Override] = Field(default_factory=list, description="newest first, ended ones included")


async def _state(conn: Any, customer_id: str) -> OverrideState:
    rows = await overrides.history(conn, customer_id)
    current = next((r for r in rows if r["ended_at"] is None), None)
    latest = await changes.latest_verdict(conn, customer_id)
    scan = latest["classification"] if latest else None
    holding = current is not None and rules.holds(current["expires_on"], False, today())
    return OverrideState(
        customer_id=customer_id,
        override=override_of(current) if current else None,
        holds=holding,
        scan_verdict=scan,
        scan_run_date=latest["run_date"] if latest else None,
        effective=rules.classification(current["verdict"]) if holding and current else scan,
        agrees=rules.agrees(current["verdict"], scan) if holding and current and scan else None,
        history=[override_of(r) for r in rows],
    )


async def beside_draft(conn: Any, customer_id: str, run_date: dt.date) -> tuple[RunChanges | None, OverrideState]:
    """What a draft's detail shows of issue 18: its run against the run before, and the customer's override."""
    runs = await changes.runs(conn, customer_id, run_date, SHOWN)
    run = next((c for c in change_rules.history(runs) if c.run_date == run_date), None)
    return run, await _state(conn, customer_id)


@router.get("/{customer_id}/changes", response_model=list[RunChanges], responses=responses(Unauthorized, NotFound))
async def get_changes(
    customer_id: str,
    op: OperatorDep,
    db: DbDep,
    since: Annotated[Day | None, Query(description="only runs on or after this date")] = None,
) -> list[RunChanges]:
    """Each run against the customer's run before it, newest first: evidence items added, gone or changed (with the
    facts that moved, old → new), the factors whose contribution moved and by how much, and the previous verdict."""
    async with db.tenant(op.tenant_id) as conn:
        if not await customers.exists(conn, customer_id):
            raise NotFound(f"customer {customer_id} not found")
        runs = await changes.runs(conn, customer_id, since, SHOWN)
    shown = change_rules.history(runs)
    first = runs[0].run_date if runs else None
    if first is not None and ((since is not None and first < since) or len(runs) > SHOWN):
        shown = shown[:-1]  # the run before the first shown: read only to compare with
    return shown


@router.get("/{customer_id}/override", response_model=OverrideState, responses=responses(Unauthorized, NotFound))
async def get_override(customer_id: str, op: OperatorDep, db: DbDep) -> OverrideState:
    """The override holding now (if any) beside the scan's own latest verdict, and the customer's past overrides."""
    async with db.tenant(op.tenant_id) as conn:
        if not await customers.exists(conn, customer_id):
            raise NotFound(f"customer {customer_id} not found")
        return await _state(conn, customer_id)


@router.post(
    "/{customer_id}/override",
    response_model=OverrideState,
    status_code=201,
    responses=responses(Unauthorized, NotFound, Unprocessable),
)
async def set_override(customer_id: str, body: OverrideIn, op: OperatorDep, db: DbDep) -> OverrideState:
    """Set the customer's verdict (or hold it at standard) until `expires`, with a reason. One override holds at a
    time: a new one replaces the one holding. It lapses on its date, or early on a new payment failure, cancel at
    period end or champion departure; the operator who set it is told on the tenant's on-call webhook."""
    if problem := rules.expiry_problem(body.expires, today()):
        raise Unprocessable(problem)
    reason = body.reason.strip()
    if not reason:
        raise Unprocessable("reason must not be blank")
    async with db.tenant(op.tenant_id) as conn:
        if not await customers.exists(conn, customer_id):
            raise NotFound(f"customer {customer_id} not found")
        replaced = (await overrides.open_for(conn, [customer_id])).get(customer_id)
        if replaced is not None:
            await overrides.end(conn, replaced["id"], op.name, "replaced")
        known = rules.strong_signals(await overrides.latest_items(conn, customer_id))
        row = await overrides.create(
            conn, op.tenant_id, customer_id, body.verdict, reason, body.expires, op.name, known
        )
        detail = {
            "override_id": row["id"],
            "verdict": body.verdict,
            "reason": reason,
            "expires": body.expires.isoformat(),
            "replaced": replaced["id"] if replaced else None,
        }
        text = rules.paragraph("set", body.verdict, reason, body.expires, op.name)
        await overrides.note(conn, op.tenant_id, customer_id, "override.set", op.name, text, detail)
        await tenants.audit(conn, op.tenant_id, op.name, "override.set", customer_id, detail)
        return await _state(conn, customer_id)


@router.delete(
    "/{customer_id}/override", response_model=OverrideState, responses=responses(Unauthorized, NotFound, Conflict)
)
async def clear_override(customer_id: str, op: OperatorDep, db: DbDep) -> OverrideState:
    """Clear the override holding now: the scan's own verdict decides again from the next run."""
    async with db.tenant(op.tenant_id) as conn:
        if not await customers.exists(conn, customer_id):
            raise NotFound(f"customer {customer_id} not found")
        current = (await overrides.open_for(conn, [customer_id])).get(customer_id)
        ended = await overrides.end(conn, current["id"], op.name, "cleared") if current else None
        if current is None or ended is None:
            raise Conflict(f"customer {customer_id} has no override holding")
        detail = {"override_id": current["id"], "verdict": current["verdict"], "reason": current["reason"]}
        text = rules.paragraph("cleared", current["verdict"], current["reason"], current["expires_on"], op.name)
        await overrides.note(conn, op.tenant_id, customer_id, "override.cleared", op.name, text, detail)
        await tenants.audit(conn, op.tenant_id, op.name, "override.cleared", customer_id, detail)
        return await _state(conn, customer_id)
