"""Decisions on a draft — send, edit, skip, undo, resolve — as Workflow Updates on the draft's ApprovalWorkflow.

Each decision has a deterministic update id, so a double click or a retried request is one decision. A send is
accepted in a few milliseconds (the draft is then `sending`) and delivered after the tenant's undo window.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ActivityError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import DbDep, OperatorDep, TemporalDep
from api.errors import Conflict, NotFound, Unauthorized, Unavailable, Unprocessable, responses
from core.decisions import content_version
from db import drafts
from db.pool import Database
from schemas.workflow_io import DecisionResult, EditRequest, ResolveRequest, SendRequest, SkipRequest, UndoRequest
from workflows.approval import ApprovalWorkflow

router = APIRouter(prefix="/v1/drafts", tags=["drafts"])
log = logging.getLogger(__name__)
# How long a request waits for its decision to complete in the workflow. A send completes when accepted, an edit
# or skip after one database write. Past it the operator gets a 503 and may press again: the update id is the
# same, so it is still applied once.
DECISION_TIMEOUT_S = 30.0

# These travel through the workflow to Postgres, which cannot store NUL: refuse it here, not ten retries later.
NO_NUL = r"^[^\x00]*$"


class EditBody(BaseModel):
    subject: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    body: str = Field(min_length=1, max_length=5000, pattern=NO_NUL)


class SendBody(BaseModel):
    """All optional. With `subject` and `body` (the operator's unsaved changes) they are validated like an edit
    and sent as one decision; a refusal (422) names the problems and sends nothing. `content_version` is the
    version the operator was looking at: if the draft has changed since, the send is refused (409)."""

    subject: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    body: str | None = Field(default=None, min_length=1, max_length=5000, pattern=NO_NUL)
    content_version: str | None = Field(default=None, max_length=64, pattern=r"^[0-9a-f]+$")


class SkipBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


class ResolveBody(BaseModel):
    outcome: Literal["delivered", "send_again"] = Field(
        description="delivered: the mail server's log shows it went out; send_again: it did not, deliver it now"
    )


@dataclass(frozen=True)
class Draft:
    """The draft as a decision finds it."""

    id: str
    workflow_id: str
    status: str
    subject: str  # what the customer receives
    body: str
    template_subject: str  # what was written (prose and references): what an edit replaces
    template_body: str
    send_round: int
    failed_at: Any
    undo_window: int


async def load(db: Database, tenant_id: str, draft_id: str) -> Draft:
    async with db.tenant(tenant_id) as conn:
        row = await drafts.decision_context(conn, draft_id)
    if row is None:
        raise NotFound(f"draft {draft_id} not found")
    return Draft(**dict(row.items()))


def send_update_id(d: Draft, version: str | None) -> str:
    """One id per send decision: shared by every click on the same state of the draft, new after an undo or a
    failed delivery (each opens a new round), new after a send that failed before the server accepted anything
    (its claim time; workflows from before undo existed only have that), and new for another text (`version`, the
    one the send decides on). Without the version, a send refused because an edit landed just before it kept its
    id, and every later Send got the same refusal back from Temporal (found by make chaos, issue 13 item 13)."""
    uid = f"send-{d.id}" + (f"-r{d.send_round}" if d.send_round else "")
    if d.failed_at is not None:
        uid += f"-retry-{int(d.failed_at.timestamp() * 1_000_000)}"
    return uid + f"-{version}" if version else uid


async def decide(
    temporal: Client, db: Database, tenant_id: str, d: Draft, update: Any, arg: BaseModel, uid: str
) -> DecisionResult:
    handle = temporal.get_workflow_handle(d.workflow_id)
    try:
        async with asyncio.timeout(DECISION_TIMEOUT_S):
            result: DecisionResult = await handle.execute_update(update, arg, id=uid, result_type=DecisionResult)
            return result
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        while isinstance(cause, ActivityError) and cause.cause is not None:  # the activity's own error
            cause = cause.cause
        message = getattr(cause, "message", None) or str(cause)
        details = list(getattr(cause, "details", ()) or ())
        if getattr(cause, "type", None) == "EditRejected":
            raise Unprocessable(message, problems=details[0] if details else []) from e
        log.info("draft %s: %s refused: %s", d.id, update.__name__, message)  # expected: one line, no traceback
        raise Conflict(message) from e
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as e:
        raise Unavailable(
            f"the decision on draft {d.id} did not complete within {DECISION_TIMEOUT_S:.0f}s; "
            "it may still complete. Look again, or press again: the same decision is applied once"
        ) from e
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return await workflow_gone(db, tenant_id, d, update, e)
        raise Unavailable(f"Temporal did not answer: {e.message}") from e


async def workflow_gone(db: Database, tenant_id: str, d: Draft, update: Any, e: Exception) -> DecisionResult:
    """The workflow is not running: it finished after a decision, or was terminated, or never started.
    Say what the ledger says, never a 500."""
    async with db.tenant(tenant_id) as conn:
        row = await drafts.get_draft(conn, d.id)
        sent = await drafts.sent_record(conn, d.id)
    status = row["status"] if row else "gone"
    if status == "sent" and update is ApprovalWorkflow.send:
        return DecisionResult(
            draft_id=d.id, outcome="already_sent", message_id=sent["message_id"] if sent else None, status="sent"
        )
    if status == "pending":
        raise Conflict(
            f"draft {d.id} is pending but its approval workflow {d.workflow_id} is not running "
            "(terminated, or never started); an engineer can look it up in the Temporal UI"
        ) from e
    raise Conflict(f"draft {d.id} is {status}; its approval workflow is no longer running") from e


async def send_draft(
    temporal: Client, db: Database, tenant_id: str, operator: str, draft_id: str, body: SendBody | None = None
) -> DecisionResult:
    """The one way a send is decided (the page, the API, Slack)."""
    d = await load(db, tenant_id, draft_id)
    if d.status == "delivery_uncertain":  # the earlier decision's id would only answer with its old "sending"
        raise Conflict(
            f"the last delivery of draft {draft_id} is uncertain; resolve it first (POST /v1/drafts/{draft_id}/resolve "
            'with {"outcome": "delivered"} or {"outcome": "send_again"})'
        )
    body = body or SendBody()
    if (body.subject is None) != (body.body is None):
        raise Unprocessable("send the subject and the body together, or neither")
    changed = body.subject is not None and (body.subject, body.body) != (d.subject, d.body)
    current = content_version(d.subject, d.body)
    if body.content_version is not None and body.content_version != current and d.status != "sent":
        raise Conflict(
            f"draft {draft_id} was changed since you opened it (you saw version {body.content_version}, it is "
            f"{current} now); look at it again before sending"
        )
    req = SendRequest(
        operator=operator,
        subject=body.subject if changed else None,
        body=body.body if changed else None,
        content_version=content_version(body.subject or "", body.body or "") if changed else current,
        undo_window_s=d.undo_window,
    )
    return await decide(temporal, db, tenant_id, d, ApprovalWorkflow.send, req, send_update_id(d, req.content_version))


DECISION_ERRORS = responses(Unauthorized, NotFound, Conflict, Unprocessable, Unavailable)


@router.post("/{draft_id}/send", response_model=DecisionResult, responses=DECISION_ERRORS)
async def send(
    draft_id: str, op: OperatorDep, db: DbDep, temporal: TemporalDep, body: SendBody | None = None
) -> DecisionResult:
    """Decide to send the draft. Answers once the decision is accepted (`outcome: sending`, with the content
    version and `undo_until`); the email goes out after the tenant's undo window (`undo_window_seconds`). Watch
    the draft's `status`: sending → sent, or delivery_failed / delivery_uncertain with `delivery_note`. The same
    decision pressed twice is one send (`already_sent` once delivered)."""
    return await send_draft(temporal, db, op.tenant_id, op.name, draft_id, body)


@router.post("/{draft_id}/undo", response_model=DecisionResult, responses=DECISION_ERRORS)
async def undo(draft_id: str, op: OperatorDep, db: DbDep, temporal: TemporalDep) -> DecisionResult:
    """Take a send back during its undo window: the draft is pending again. After delivery began: 409."""
    d = await load(db, op.tenant_id, draft_id)
    return await decide(
        temporal,
        db,
        op.tenant_id,
        d,
        ApprovalWorkflow.undo,
        UndoRequest(operator=op.name),
        f"undo-{d.id}-r{d.send_round}",
    )


@router.post("/{draft_id}/resolve", response_model=DecisionResult, responses=DECISION_ERRORS)
async def resolve(
    draft_id: str, body: ResolveBody, op: OperatorDep, db: DbDep, temporal: TemporalDep
) -> DecisionResult:
    """Settle a delivery_uncertain draft after looking for its Message-ID in the mail server's log: `delivered`
    marks it sent; `send_again` delivers it now. Audited."""
    d = await load(db, op.tenant_id, draft_id)
    return await decide(
        temporal,
        db,
        op.tenant_id,
        d,
        ApprovalWorkflow.resolve,
        ResolveRequest(operator=op.name, outcome=body.outcome),
        f"resolve-{d.id}-r{d.send_round}",
    )


@router.post("/{draft_id}/edit", response_model=DecisionResult, responses=DECISION_ERRORS)
async def edit(draft_id: str, body: EditBody, op: OperatorDep, db: DbDep, temporal: TemporalDep) -> DecisionResult:
    """Replace the subject and body. The edit must still trace to the evidence: every number found in the cited
    items, every cited source in the customer's bundle; otherwise 422 with `problems` listing each failure.
    An edit that changes nothing says so (`outcome: unchanged`) and writes nothing."""
    d = await load(db, op.tenant_id, draft_id)
    if (body.subject, body.body) == (d.template_subject, d.template_body) and d.status in (
        "pending",
        "delivery_failed",
    ):
        return DecisionResult(
            draft_id=d.id, outcome="unchanged", content_version=content_version(d.subject, d.body), status=d.status
        )
    digest = hashlib.sha256(f"{body.subject}\0{body.body}".encode()).hexdigest()[:16]
    return await decide(
        temporal,
        db,
        op.tenant_id,
        d,
        ApprovalWorkflow.edit,
        EditRequest(operator=op.name, subject=body.subject, body=body.body),
        f"edit-{draft_id}-{content_version(d.subject, d.body)}-{digest}",  # back to an earlier text is a new edit
    )


@router.post("/{draft_id}/skip", response_model=DecisionResult, responses=DECISION_ERRORS)
async def skip(draft_id: str, body: SkipBody, op: OperatorDep, db: DbDep, temporal: TemporalDep) -> DecisionResult:
    """Skip the draft, with the reason (kept in the audit log). A skipped draft can never be sent."""
    return await skip_draft(temporal, db, op.tenant_id, op.name, draft_id, body.reason)


async def skip_draft(
    temporal: Client, db: Database, tenant_id: str, operator: str, draft_id: str, reason: str
) -> DecisionResult:
    """The one way a skip is decided (the page, the API, Slack)."""
    d = await load(db, tenant_id, draft_id)
    req = SkipRequest(operator=operator, reason=reason)
    return await decide(temporal, db, tenant_id, d, ApprovalWorkflow.skip, req, f"skip-{draft_id}")
