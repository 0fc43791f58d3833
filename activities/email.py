"""Operator decisions on a draft: send (exactly once), edit (re-validated), skip."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
from email.message import EmailMessage

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.citations import email_problems
from db import drafts, scans, tenants
from db.pool import Database
from schemas.verdict import DraftEmail
from schemas.workflow_io import DecisionResult, EditInput, SendEmailInput, SkipInput

DELIVERY_UNCERTAIN = "DeliveryUncertain"


class SmtpConfig:
    def __init__(self, host: str, port: int, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout: float = 20.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout = username, password, starttls, timeout


def message_id(draft_id: str) -> str:
    return f"<{hashlib.sha256(draft_id.encode()).hexdigest()[:32]}@renewal-manager>"


def _deliver(cfg: SmtpConfig, msg: EmailMessage) -> str:
    with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout) as smtp:
        if cfg.starttls:
            smtp.starttls()
        if cfg.username:
            smtp.login(cfg.username, cfg.password or "")
        refused = smtp.send_message(msg)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
        return "250 accepted"


class EmailActivities:
    def __init__(self, db: Database, smtp: SmtpConfig) -> None:
        self.db = db
        self.smtp = smtp

    @activity.defn
    async def send_email(self, inp: SendEmailInput) -> DecisionResult:
        """One draft, one email. The claim row is committed before the SMTP conversation: a retry that finds
        it sent answers already_sent; one that finds it mid-send refuses to guess and tells the operator."""
        mid = message_id(inp.draft_id)
        async with self.db.tenant(inp.tenant_id) as conn:
            draft = await drafts.get_draft(conn, inp.draft_id)
            if draft is None:
                raise ApplicationError(f"draft {inp.draft_id} not found", type="DraftNotFound", non_retryable=True)
            existing = await drafts.claim_send(conn, inp.tenant_id, inp.draft_id, mid)
        if existing == "sent":
            return DecisionResult(draft_id=inp.draft_id, outcome="already_sent", message_id=mid)
        if existing == "sending":
            raise ApplicationError(
                f"delivery of draft {inp.draft_id} is uncertain: an earlier attempt stopped mid-conversation with "
                f"the SMTP server. Look for Message-ID {mid} in the server's log before sending again.",
                type=DELIVERY_UNCERTAIN, non_retryable=True)
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.smtp.sender, draft["to_email"], draft["subject"]
        msg["Message-ID"] = mid
        msg["X-Renewals-Draft"] = inp.draft_id
        msg.set_content(draft["body"])
        try:
            response = await asyncio.to_thread(_deliver, self.smtp, msg)
        except (OSError, smtplib.SMTPException) as e:
            # Refused before DATA was accepted: nothing was delivered, so release the claim and let Temporal retry.
            async with self.db.tenant(inp.tenant_id) as conn:
                await drafts.release_send(conn, inp.draft_id, repr(e))
            raise ApplicationError(f"SMTP {self.smtp.host}:{self.smtp.port} refused or unreachable: {e}",
                                   type="SmtpUnavailable") from e
        async with self.db.tenant(inp.tenant_id) as conn:
            await drafts.mark_sent(conn, inp.draft_id, inp.operator, response)
            await tenants.audit(conn, inp.tenant_id, inp.operator, "draft.sent", inp.draft_id, {"message_id": mid})
        return DecisionResult(draft_id=inp.draft_id, outcome="sent", message_id=mid)

    @activity.defn
    async def apply_edit(self, inp: EditInput) -> DecisionResult:
        """An edited draft must still trace to the evidence: anchors kept, every number found in them."""
        async with self.db.tenant(inp.tenant_id) as conn:
            draft = await drafts.get_draft(conn, inp.draft_id)
            if draft is None:
                raise ApplicationError(f"draft {inp.draft_id} not found", type="DraftNotFound", non_retryable=True)
            bundle = (await scans.load_bundles(conn, inp.tenant_id, draft["run_date"], [draft["customer_id"]]))[
                draft["customer_id"]]
            name = await conn.fetchval("select name from customers where tenant_id = $1 and id = $2",
                                       inp.tenant_id, draft["customer_id"])
            email = DraftEmail(subject=inp.subject, body=inp.body, anchors=list(draft["anchors"]))
            problems = email_problems(email, bundle, name or "")
            if problems:
                raise ApplicationError("edit rejected: " + "; ".join(problems), problems, type="EditRejected",
                                       non_retryable=True)
            await drafts.update_content(conn, inp.draft_id, inp.subject, inp.body, email.anchors)
            await tenants.audit(conn, inp.tenant_id, inp.operator, "draft.edited", inp.draft_id,
                                {"subject": inp.subject})
        return DecisionResult(draft_id=inp.draft_id, outcome="edited")

    @activity.defn
    async def apply_skip(self, inp: SkipInput) -> DecisionResult:
        async with self.db.tenant(inp.tenant_id) as conn:
            await drafts.mark_skipped(conn, inp.draft_id, inp.operator, inp.reason)
            await tenants.audit(conn, inp.tenant_id, inp.operator, "draft.skipped", inp.draft_id,
                                {"reason": inp.reason})
        return DecisionResult(draft_id=inp.draft_id, outcome="skipped")
