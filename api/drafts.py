"""The inbox: drafts waiting for an operator, and the decisions that reach their ApprovalWorkflow."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import DbDep, OperatorDep, TemporalDep
from api.errors import Conflict, NotFound, Unavailable, Unprocessable, Unauthorized, responses
from core.notify import notify
from db import alerts, drafts, scans
from schemas.workflow_io import DecisionResult, EditRequest, SendRequest, SkipRequest
from workflows.approval import ApprovalWorkflow

router = APIRouter(prefix="/v1/drafts", tags=["drafts"])


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


class DraftList(BaseModel):
    items: list[DraftSummary]
    limit: int
    offset: int
    validation_failure_rate_24h: float
    banner: str | None = None   # set when on-call should look: > 5 % of the last day's rows failed validation


ALERT_RATE = 0.05


class DraftDetail(DraftSummary):
    to_email: str
    body: str
    anchors: list[str]
    evidence: list[dict[str, Any]]
    factors: dict[str, Any]        # each factor's score, weight and contribution; the total; who pushed it across
    diary: list[dict[str, Any]]    # newest first: this run's entry beside the previous ones


class EditBody(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)


class SkipBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def _summary(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "customer_id": r["customer_id"], "customer_name": r["customer_name"],
            "run_date": r["run_date"].isoformat(), "kind": r["kind"], "classification": r["classification"],
            "severity": r["severity"], "route": r["route"], "arr_usd": r["arr_cents"] / 100, "subject": r["subject"],
            "status": r["status"]}


@router.get("", response_model=DraftList, responses=responses(Unauthorized))
async def list_drafts(op: OperatorDep, db: DbDep, status: Literal["pending", "sent", "skipped"] = "pending",
                      classification: Literal["expansion", "standard", "at_risk", "likely_churn"] | None = None,
                      severity: Literal["LOW", "MEDIUM", "HIGH"] | None = None,
                      route: Literal["TIER1", "TIER2", "TIER3"] | None = None,
                      min_arr_usd: float | None = Query(None, ge=0, le=1e9),
                      max_arr_usd: float | None = Query(None, ge=0, le=1e9),
                      limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=1_000_000)) -> DraftList:
    async with db.tenant(op.tenant_id) as conn:
        rows = await drafts.list_drafts(conn, op.tenant_id, status, limit, offset, classification=classification,
                                        severity=severity, route=route, min_arr_cents=_cents(min_arr_usd),
                                        max_arr_cents=_cents(max_arr_usd))
        rate = await drafts.validation_failure_rate(conn)
        banner = (f"{rate:.1%} of the last 24 hours' verdicts cited sources outside their evidence (alert above "
                  f"{ALERT_RATE:.0%}): the model may be fabricating; see the runbook") if rate > ALERT_RATE else None
        newly = await alerts.crossed(conn, op.tenant_id, "validation_failure_rate", banner is not None, banner or "")
        webhook = await conn.fetchval("select oncall_webhook from tenant_settings") if newly else None
    if newly:
        await notify(webhook, f"[{op.tenant_id}] {banner}")
    return DraftList(items=[DraftSummary(**_summary(r)) for r in rows], limit=limit, offset=offset,
                     validation_failure_rate_24h=round(rate, 4), banner=banner)


def _cents(usd: float | None) -> int | None:
    return None if usd is None else round(usd * 100)


@router.get("/{draft_id}", response_model=DraftDetail, responses=responses(Unauthorized, NotFound))
async def get_draft(draft_id: str, op: OperatorDep, db: DbDep) -> DraftDetail:
    async with db.tenant(op.tenant_id) as conn:
        row = await conn.fetchrow("""
            select d.*, c.classification, c.severity, c.route, c.factors, cu.name as customer_name, cu.arr_cents
              from drafts d join classifications c on c.tenant_id = d.tenant_id and c.customer_id = d.customer_id
                                                  and c.run_date = d.run_date
              join customers cu on cu.tenant_id = d.tenant_id and cu.id = d.customer_id
             where d.id = $1""", draft_id)
        if row is None:
            raise NotFound(f"draft {draft_id} not found")
        bundle = (await scans.load_bundles(conn, op.tenant_id, row["run_date"], [row["customer_id"]]))[
            row["customer_id"]]
        diary = await conn.fetch("""select run_date, paragraph, cited_source_ids from diary_entries
                                    where customer_id = $1 order by run_date desc limit 5""", row["customer_id"])
    return DraftDetail(**_summary(row), to_email=row["to_email"], body=row["body"], anchors=list(row["anchors"]),
                       evidence=[i.model_dump(mode="json") for i in bundle.items], factors=row["factors"],
                       diary=[{"run_date": d["run_date"].isoformat(), "paragraph": d["paragraph"],
                               "cited_source_ids": list(d["cited_source_ids"])} for d in diary])


async def _decide(db: DbDep, temporal: TemporalDep, op: OperatorDep, draft_id: str, update: Any, arg: BaseModel,
                  update_id: str) -> DecisionResult:
    async with db.tenant(op.tenant_id) as conn:
        row = await drafts.get_draft(conn, draft_id)
    if row is None:
        raise NotFound(f"draft {draft_id} not found")
    handle = temporal.get_workflow_handle(row["workflow_id"])
    try:
        return await handle.execute_update(update, arg, id=update_id, result_type=DecisionResult)
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        while isinstance(cause, ActivityError) and cause.cause is not None:   # the activity's own error
            cause = cause.cause
        message = getattr(cause, "message", None) or str(cause)
        details = list(getattr(cause, "details", ()) or ())
        if getattr(cause, "type", None) == "EditRejected":
            raise Unprocessable(message, problems=details[0] if details else []) from e
        raise Conflict(message) from e
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            # The workflow is gone: finished after a decision, or never started. Say what the ledger says.
            async with db.tenant(op.tenant_id) as conn:
                status = (await drafts.get_draft(conn, draft_id) or {}).get("status")
            if status == "sent" and update is ApprovalWorkflow.send:
                return DecisionResult(draft_id=draft_id, outcome="already_sent")
            raise Conflict(f"draft {draft_id} is {status}; its approval workflow is no longer running") from e
        raise Unavailable(f"Temporal did not answer: {e.message}") from e


DECISION_ERRORS = responses(Unauthorized, NotFound, Conflict, Unprocessable, Unavailable)


@router.post("/{draft_id}/send", response_model=DecisionResult, responses=DECISION_ERRORS)
async def send(draft_id: str, op: OperatorDep, db: DbDep, temporal: TemporalDep) -> DecisionResult:
    """Send the draft. The update id is the draft's own, so a double click sends once."""
    return await _decide(db, temporal, op, draft_id, ApprovalWorkflow.send, SendRequest(operator=op.name),
                         f"send-{draft_id}")


@router.post("/{draft_id}/edit", response_model=DecisionResult, responses=DECISION_ERRORS)
async def edit(draft_id: str, body: EditBody, op: OperatorDep, db: DbDep, temporal: TemporalDep) -> DecisionResult:
    digest = hashlib.sha256(f"{body.subject}\0{body.body}".encode()).hexdigest()[:16]
    return await _decide(db, temporal, op, draft_id, ApprovalWorkflow.edit,
                         EditRequest(operator=op.name, subject=body.subject, body=body.body),
                         f"edit-{draft_id}-{digest}")


@router.post("/{draft_id}/skip", response_model=DecisionResult, responses=DECISION_ERRORS)
async def skip(draft_id: str, body: SkipBody, op: OperatorDep, db: DbDep, temporal: TemporalDep) -> DecisionResult:
    return await _decide(db, temporal, op, draft_id, ApprovalWorkflow.skip,
                         SkipRequest(operator=op.name, reason=body.reason), f"skip-{draft_id}")
