"""Operator decisions on a draft: send (exactly once), edit (re-validated), skip."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import smtplib
import uuid
from collections.abc import Awaitable, Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from core import citations
from core.decisions import DELIVERY_UNCERTAIN, content_version, failed_note, message_id
from db import drafts, reports, scans, tenants
from db import settings as tenant_settings
from db.pool import Database
from schemas.verdict import DraftEmail
from schemas.workflow_io import DecisionResult, DeliveryState, EditInput, ReportRef, SendEmailInput, SkipInput

TYPED_NUMBERS = (
    "numbers, amounts and dates are inserted as references, e.g. {{fact:<source id>#days_late}} (the draft's "
    "`references` list them), never typed"
)
log = logging.getLogger(__name__)


class SmtpConfig:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 20.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout = username, password, starttls, timeout


def uncertain(what: str, mid: str) -> ApplicationError:
    return ApplicationError(
        f"delivery of {what} is uncertain: an attempt stopped mid-conversation with the SMTP "
        f"server, after the message may have gone out. Look for Message-ID {mid} in the server's "
        "log before sending again.",
        type=DELIVERY_UNCERTAIN,
        non_retryable=True,
    )


class Uncertain(Exception):
    """The message went out and the line dropped before the server's answer."""


class ClaimLost(Exception):
    """Another attempt took this send's claim over while this one stalled before DATA: it must not send."""


class _Smtp(smtplib.SMTP):
    """Knows whether the message itself went out: before DATA nothing was delivered; after it, only the
    server's answer says whether it was."""

    data_sent = False
    before_data: Callable[[], bool] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        if self.before_data is not None and not self.before_data():
            raise ClaimLost("another attempt took the send over before this one reached DATA")
        self.data_sent = True
        return super().data(msg)


def _deliver(
    cfg: SmtpConfig, msg: EmailMessage, before_data: Callable[[], bool] | None = None
) -> dict[str, tuple[int, bytes]]:
    """Deliver, returning the recipients the server refused while accepting the message for the others. A server
    that answers (any code) has said what happened; a line lost once DATA began leaves it unknown (Uncertain).
    `before_data` is asked just before the message is handed over; False stops it (ClaimLost)."""
    smtp = _Smtp(cfg.host, cfg.port, timeout=cfg.timeout)
    smtp.before_data = before_data
    try:
        if cfg.starttls:
            smtp.starttls()
        if cfg.username:
            smtp.login(cfg.username, cfg.password or "")
        return smtp.send_message(msg)
    except smtplib.SMTPResponseException:
        raise  # a definite answer: not delivered
    except OSError as e:  # smtplib's errors are OSErrors too; here, only those without an answer
        if smtp.data_sent:  # recipients are refused before DATA, so this is a lost line, not a refusal
            raise Uncertain(e) from e
        raise
    finally:
        with contextlib.suppress(Exception):  # once accepted, a bad answer to QUIT changes nothing
            smtp.quit()
        smtp.close()


class EmailActivities:
    def __init__(self, db: Database, smtp: SmtpConfig) -> None:
        self.db = db
        self.smtp = smtp

    @activity.defn
    async def send_email(self, inp: SendEmailInput) -> DecisionResult:
        """One draft, one email. The claim row is committed before the SMTP conversation, and the moment DATA
        begins is committed before DATA: a retry that finds it sent answers already_sent; one that finds an
        attempt that never reached DATA takes over (nothing went out); one that finds DATA begun refuses to guess
        and tells the operator (delivery uncertain)."""
        mid = message_id(inp.draft_id)
        attempt = uuid.uuid4().hex
        async with self.db.tenant(inp.tenant_id) as conn:
            draft = await drafts.get_draft(conn, inp.draft_id)
            if draft is None:
                raise ApplicationError(f"draft {inp.draft_id} not found", type="DraftNotFound", non_retryable=True)
            sender = await tenant_settings.email_settings(conn)
            version = content_version(draft["subject"], draft["body"])
            if inp.content_version is not None and version != inp.content_version:
                raise ApplicationError(
                    f"draft {inp.draft_id} changed after the send was decided (version {inp.content_version}, "
                    f"now {version}); nothing was sent",
                    type="ContentChanged",
                    non_retryable=True,
                )
            existing, previous = await drafts.claim_send(conn, inp.tenant_id, inp.draft_id, mid, attempt)
            if inp.record_decision and existing is None and activity.info().attempt == 1:  # once, with its first claim
                await drafts.set_state(
                    conn, inp.draft_id, "sending", operator=inp.operator, content_version=inp.content_version
                )
                await tenants.audit(
                    conn,
                    inp.tenant_id,
                    inp.operator,
                    "draft.send_requested",
                    inp.draft_id,
                    {"status": "sending", "content_version": inp.content_version},
                )
        if existing == "sent":
            return DecisionResult(draft_id=inp.draft_id, outcome="already_sent", message_id=mid)
        if existing == "sending":
            raise uncertain(f"draft {inp.draft_id}", mid)
        if previous == "sending":
            log.info("draft %s: the previous attempt never reached DATA, so nothing went out; sending", inp.draft_id)
        msg = self._message(
            draft["to_email"],
            draft["subject"],
            draft["body"],
            mid,
            sender_name=sender.sender_name,
            reply_to=sender.reply_to,
            html_part=True,
        )
        msg["X-Renewals-Draft"] = inp.draft_id

        async def release(error: str) -> None:
            async with self.db.tenant(inp.tenant_id) as conn:
                await drafts.release_send(conn, inp.draft_id, error, attempt)

        async def start_data() -> bool:
            async with self.db.tenant(inp.tenant_id) as conn:
                return await drafts.start_data(conn, inp.draft_id, attempt)

        loop = asyncio.get_running_loop()

        def before_data() -> bool:  # called from the SMTP thread: the write happens on the activity's loop
            return asyncio.run_coroutine_threadsafe(start_data(), loop).result(timeout=30)

        try:
            await self._deliver(msg, release, before_data)  # one recipient: refused means nothing was sent, and raises
        except ClaimLost as e:
            raise ApplicationError(str(e), type="ClaimLost", non_retryable=True) from e
        async with self.db.tenant(inp.tenant_id) as conn:
            await drafts.mark_sent(conn, inp.draft_id, inp.operator, "250 accepted")
            await tenants.audit(
                conn,
                inp.tenant_id,
                inp.operator,
                "draft.sent",
                inp.draft_id,
                {"message_id": mid, "content_version": version},
            )
        return DecisionResult(
            draft_id=inp.draft_id, outcome="sent", message_id=mid, content_version=version, status="sent"
        )

    @activity.defn
    async def record_delivery(self, inp: DeliveryState) -> str:
        """The draft's delivery state as the workflow decided it, with the operator's decision audited; returns the
        state written. Settling an uncertain delivery also settles the email ledger: delivered marks it sent, send
        again frees the claim. An "uncertain" delivery whose last attempt never reached DATA is written as failed:
        nothing could have gone out, and Send may be pressed again."""
        status, note = inp.status, inp.note
        async with self.db.tenant(inp.tenant_id) as conn:
            if status == "delivery_uncertain":
                ledger = await drafts.sent_record(conn, inp.draft_id)
                if (
                    ledger is not None
                    and ledger["status"] in ("sending", "failed")
                    and ledger["data_started_at"] is None
                ):
                    await drafts.release_send(conn, inp.draft_id, "no attempt reached DATA")
                    status = "delivery_failed"
                    note = failed_note("the mail server never got as far as the message (no attempt reached DATA)")
            if inp.resolution == "delivered":
                await drafts.mark_sent(conn, inp.draft_id, inp.operator, "confirmed delivered by an operator")
            else:
                if inp.resolution == "send_again":
                    await drafts.release_send(conn, inp.draft_id, "an operator found it was not delivered")
                await drafts.set_state(
                    conn,
                    inp.draft_id,
                    status,
                    operator=inp.operator,
                    content_version=inp.content_version,
                    undo_until=inp.undo_until,
                    note=note,
                )
            if inp.action:
                detail: dict[str, Any] = {"status": status, "content_version": inp.content_version}
                if inp.resolution:
                    detail["resolution"] = inp.resolution
                await tenants.audit(conn, inp.tenant_id, inp.operator, inp.action, inp.draft_id, detail)
        if status != inp.status:
            log.info("draft %s: %s", inp.draft_id, note)
        return status

    @activity.defn
    async def email_report(self, ref: ReportRef) -> str:
        """The weekly digest to the tenant's digest recipients, once, through the same claim-then-send path as
        a draft. Returns what happened, for the workflow's result."""
        async with self.db.tenant(ref.tenant_id) as conn:
            to = await tenant_settings.digest_recipients(conn)
            row = await reports.get(conn, ref.kind, ref.day)
            if row is None:
                raise ApplicationError(f"no {ref.kind} stored for {ref.day}", type="ReportMissing", non_retryable=True)
            if not to:
                return "not emailed: no digest_recipients in the tenant's settings"
            mid = message_id(f"{ref.tenant_id}/{ref.kind}/{ref.day.isoformat()}")
            existing = await reports.claim_email(conn, ref.kind, ref.day, to, mid)
        if existing == "sent":
            return f"already emailed to {', '.join(row['email_to'] or to)}"
        if existing == "sending":
            raise uncertain(f"the {ref.kind} of {ref.day}", mid)
        subject = {"digest": "Renewal digest", "briefing": "Customer health"}[ref.kind] + f", {ref.day.isoformat()}"
        msg = self._message(", ".join(to), subject, row["text"], mid)

        async def release(error: str) -> None:
            async with self.db.tenant(ref.tenant_id) as conn:
                await reports.email_done(conn, ref.kind, ref.day, sent=False)

        refused = await self._deliver(msg, release)
        got = [a for a in to if a not in refused]
        async with self.db.tenant(ref.tenant_id) as conn:
            await reports.email_done(conn, ref.kind, ref.day, sent=True, to=got)
            await tenants.audit(
                conn,
                ref.tenant_id,
                "reports",
                f"{ref.kind}.emailed",
                ref.day.isoformat(),
                {"to": got, "refused": refused, "message_id": mid},
            )
        return f"emailed to {', '.join(got)}" + (
            f"; refused by the mail server: {', '.join(refused)}" if refused else ""
        )

    def _message(
        self,
        to: str,
        subject: str,
        body: str,
        mid: str,
        *,
        sender_name: str = "",
        reply_to: str | None = None,
        html_part: bool = False,
    ) -> EmailMessage:
        """An RFC 5322 message: Date, Message-ID, From with the tenant's sender name, Reply-To, and the text as
        text/plain; a customer's email also gets a simple HTML part (everything escaped: the text is never
        markup). The weekly digest, read by the tenant's own people, stays plain text."""
        msg = EmailMessage()
        name, address = parseaddr(self.smtp.sender)
        user, _, domain = address.partition("@")
        msg["From"] = Address(sender_name or name, user, domain) if domain else self.smtp.sender
        msg["To"], msg["Subject"], msg["Message-ID"] = to, subject, mid
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        if reply_to:
            msg["Reply-To"] = reply_to
        msg.set_content(body)
        if not html_part:
            return msg
        paragraphs = "".join(
            "<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>\n" for p in body.strip().split("\n\n")
        )
        msg.add_alternative(f"<!doctype html>\n<html><body>\n{paragraphs}</body></html>\n", subtype="html")
        return msg

    async def _deliver(
        self,
        msg: EmailMessage,
        release: Callable[[str], Awaitable[None]],
        before_data: Callable[[], bool] | None = None,
    ) -> list[str]:
        """Deliver, or release the claim when the server said no (nothing was delivered, a retry may try again).
        A line lost after the message was sent leaves the claim held: delivery is uncertain, never repeated.
        Returns the recipients refused while the others got it."""
        try:
            refused = await asyncio.to_thread(_deliver, self.smtp, msg, before_data)
        except Uncertain as e:
            raise uncertain(f"message {msg['Message-ID']}", msg["Message-ID"]) from e
        except OSError as e:  # nothing was delivered: release the claim
            await release(repr(e))
            every = isinstance(e, smtplib.SMTPRecipientsRefused) and all(
                code >= 500 for code, _ in e.recipients.values()
            )
            rejected = isinstance(e, smtplib.SMTPResponseException) and e.smtp_code >= 500  # e.g. 554 spam
            why = (
                ": every recipient was refused; correct the address"
                if every
                else ": the server rejected the message for good"
                if rejected
                else ""
            )
            raise ApplicationError(
                f"SMTP {self.smtp.host}:{self.smtp.port} refused or unreachable: {e}{why}",
                type="RecipientsRefused" if every else "MessageRejected" if rejected else "SmtpUnavailable",
                non_retryable=every or rejected,
            ) from e
        return sorted(refused)

    @activity.defn
    async def apply_edit(self, inp: EditInput) -> DecisionResult:
        """An edit is a template, rendered and checked exactly as a model's draft is: the same references, the
        same prose rules, the same anchors. A refusal names each problem and is quiet (an operator's typo is
        no failure of the system)."""
        async with self.db.tenant(inp.tenant_id) as conn:
            draft = await drafts.draft_detail(conn, inp.draft_id)
            if draft is None:
                raise ApplicationError(f"draft {inp.draft_id} not found", type="DraftNotFound", non_retryable=True)
            bundle = (await scans.load_bundles(conn, inp.tenant_id, draft["run_date"], [draft["customer_id"]]))[
                draft["customer_id"]
            ]
            settings = await tenant_settings.email_settings(conn)
            email = DraftEmail(subject=inp.subject, body=inp.body, anchors=list(draft["anchors"]))
            ctx = citations.context(
                bundle, draft["customer_name"] or "", draft["classification"], settings=settings, route=draft["route"]
            )
            problems = citations.email_problems(
                email, bundle, ctx.customer_name, classification=ctx.classification, settings=settings, route=ctx.route
            )
            if problems:
                if any("number typed" in p or "currency" in p for p in problems):
                    problems.append(TYPED_NUMBERS)
                raise ApplicationError(
                    "edit rejected: " + "; ".join(problems),
                    problems,
                    type="EditRejected",
                    non_retryable=True,
                    category=ApplicationErrorCategory.BENIGN,
                )
            shown = citations.render_email(email, ctx)
            await drafts.update_content(
                conn,
                inp.draft_id,
                shown.subject,
                shown.body,
                email.anchors,
                inp.subject,
                inp.body,
                shown.quotes_customer,
            )
            await tenants.audit(
                conn, inp.tenant_id, inp.operator, "draft.edited", inp.draft_id, {"subject": shown.subject}
            )
        # The version names what the customer will get, the rendering: the page shows it, the delivery checks it.
        return DecisionResult(
            draft_id=inp.draft_id, outcome="edited", content_version=content_version(shown.subject, shown.body)
        )

    @activity.defn
    async def apply_skip(self, inp: SkipInput) -> DecisionResult:
        async with self.db.tenant(inp.tenant_id) as conn:
            await drafts.mark_skipped(conn, inp.draft_id, inp.operator, inp.reason)
            await tenants.audit(
                conn, inp.tenant_id, inp.operator, "draft.skipped", inp.draft_id, {"reason": inp.reason}
            )
        return DecisionResult(draft_id=inp.draft_id, outcome="skipped")
