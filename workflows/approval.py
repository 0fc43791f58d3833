"""One draft, waiting — for weeks if need be — for an operator to send, edit or skip it.

Decisions arrive as Workflow Updates so the caller learns the real outcome. The API gives each decision
a deterministic update id, so a double click or a retried request is the same update, applied once.

Since "send-decision-v2", Send is a decision, then a delivery: the Update completes as soon as the workflow has
accepted it (state `sending`, naming the content version), the workflow then waits out the tenant's undo window
(an `undo` Update takes the send back: the draft is pending again and a new Send is a new decision), and then
delivers. A delivery ends `sent`, `delivery_failed` (nothing went out; Send again or Skip) or
`delivery_uncertain` (the line dropped after DATA; an operator `resolve`s it as delivered or send again).
The handlers hold one lock, so an edit and a send cannot interleave. Workflows started before the patch keep
the old behaviour for their lifetime: Send delivers inside the Update.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ApplicationErrorCategory

with workflow.unsafe.imports_passed_through():
    from core.decisions import DELIVERY_UNCERTAIN, SENDABLE, content_version, failed_note, message_id, uncertain_note
    from schemas import queues, search
    from schemas.workflow_io import (
        ApprovalInput,
        DecisionResult,
        DeliveryState,
        EditInput,
        EditRequest,
        ResolveRequest,
        ReviewMessage,
        SendEmailInput,
        SendRequest,
        SkipInput,
        SkipRequest,
        UndoRequest,
    )
    from workflows.activity_refs import EmailActivities, ReviewActivities

SEND_V2 = "send-decision-v2"
# The pre-v2 delivery inside the Update, kept as it was for the workflows that still run it.
V1_SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5), maximum_attempts=20
)
# v2 delivers in the background: a mail server that stays down for about a minute ends in delivery_failed
# ("nothing went out, Send again"), rather than a draft that says "sending" for an hour.
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=20), maximum_attempts=5
)
DB_RETRY = RetryPolicy(maximum_attempts=10)
SLACK_REVIEW = "slack-review-message"
# Patient: a scan posts a burst of review messages and Slack takes about one a second per channel (the SDK waits
# out each 429's Retry-After three times before Temporal's retry takes over). Gives up after REVIEW_WITHIN.
REVIEW_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1))
REVIEW_WITHIN = timedelta(hours=2)


def refused(message: str) -> ApplicationError:
    """An expected refusal (a double decision, a decision on a closed draft): one log line, no traceback."""
    return ApplicationError(
        message, type="DecisionRefused", non_retryable=True, category=ApplicationErrorCategory.BENIGN
    )


# Outside the sandbox, on the operator's path: each activation of a sandboxed workflow runs its code through the
# sandbox's importer and each payload's serialization context through a call into the sandbox: under py-spy, 44 % of
# the worker's time handling a Send's activations; outside it the worker's CPU per Send fell from 11.8 to 8.6 ms
# (bench.api_load, both run at once; issue 17). Its imports are all passed through already, so the sandbox's fresh
# import per run proved nothing here; tests/test_replay.py replays its histories inside the sandbox too, which
# keeps its early warning of non-determinism (a clock, a random number, I/O) in CI.
@workflow.defn(sandboxed=False)
class ApprovalWorkflow:
    @workflow.init
    def __init__(self, inp: ApprovalInput) -> None:
        # Set before any handler runs: a Send that arrives with the workflow's first task needs the input.
        self.inp = inp
        # pending | sending | sent | skipped (| delivery_failed | delivery_uncertain, v2)
        self.status = "pending"
        self.result: DecisionResult | None = None
        # Decided once, with the first task: every handler of this run follows the same path.
        self._v2 = workflow.patched(SEND_V2)
        self.lock = asyncio.Lock()
        self.version: str | None = None  # the content version of the last edit made through this workflow
        self.decision: DecisionResult | None = None  # the send being carried out (v2)
        self.operator = ""
        self.recorded = False  # the send decision is written to the draft (resolve writes its own)
        self.round = 0  # each undo or failed delivery opens a new send decision
        self.delivering = False
        self.shown = "pending"  # what the draft's Slack review message shows (with a review channel)

    def v2(self) -> bool:
        return self._v2

    def serial(self) -> AbstractAsyncContextManager[object]:
        # The lock only where the patch is: older histories ran their handlers unserialized.
        return self.lock if self.v2() else nullcontext()

    @workflow.run
    async def run(self, inp: ApprovalInput) -> str:
        if not self.v2():
            if inp.auto_send and workflow.patched("auto-send"):
                await self._send(SendRequest(operator="auto-send"))
            await workflow.wait_condition(lambda: self.status in ("sent", "skipped"))
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.status
        if inp.auto_send:
            await self._send(SendRequest(operator="auto-send"))
        if inp.review_in_slack and not inp.auto_send and workflow.patched(SLACK_REVIEW):
            await self.run_with_review()
        while True:
            await workflow.wait_condition(lambda: self.status in ("sending", "sent", "skipped"))
            if self.status != "sending":
                break
            await self.carry_out()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def run_with_review(self) -> None:
        """The same decisions and deliveries, with the draft's review message in the tenant's Slack review
        channel: posted now, edited whenever the draft is decided, wherever (the page, the API, its buttons)."""
        # In the background: a Slack that is slow or rate-limits a scan's burst of posts holds up no delivery;
        # only an edit of the message waits for it.
        post = asyncio.create_task(self.tell_review(ReviewActivities.post_review))
        self.shown = "pending"
        while True:
            await workflow.wait_condition(
                lambda: self.status in ("sending", "sent", "skipped") or self.status != self.shown
            )
            if self.status not in ("sending", self.shown):
                self.shown = self.status
                await post
                await self.tell_review(ReviewActivities.show_review)
            elif self.status != "sending":
                await post
                return
            else:
                self.shown = "sending"  # the message keeps its buttons through the undo window: an undo then shows
                await self.carry_out()

    async def tell_review(self, activity: Any) -> None:
        """Slack being down or the channel gone must not hold up the draft: logged, and the draft goes on."""
        # Pending again after a decision is an undo (the post itself ignores the status).
        shown = "undone" if self.status == "pending" else self.status
        msg = ReviewMessage(
            tenant_id=self.inp.tenant_id, draft_id=self.inp.draft_id, status=shown, operator=self.operator
        )
        try:
            await workflow.execute_activity(
                activity,
                msg,
                start_to_close_timeout=timedelta(minutes=2),
                schedule_to_close_timeout=REVIEW_WITHIN,
                retry_policy=REVIEW_RETRY,
                summary=f"Slack review message: {self.status}",
            )
        except ActivityError as e:
            workflow.logger.warning("draft %s: its Slack review message was not updated: %s", self.inp.draft_id, e)

    @workflow.query
    def state(self) -> str:
        return self.status

    # ---- the v2 send: record the decision, wait out the undo window, deliver -----------------------------------

    async def carry_out(self) -> None:
        decision, round_ = self.decision, self.round
        if decision is None:  # status "sending" always comes with its decision
            return
        # Without an undo window the delivery itself records the decision, in its claim's transaction: one
        # activity and one workflow task less per send.
        if not self.recorded and decision.undo_until is not None:
            async with self.lock:
                if self.round != round_:
                    return  # undone while waiting for the lock
                await self.record("sending", action="draft.send_requested", undo_until=decision.undo_until)
                self.recorded = True
        if decision.undo_until is not None:
            remaining = (decision.undo_until - workflow.now()).total_seconds()
            if remaining > 0:
                try:
                    await workflow.wait_condition(lambda: self.round != round_, timeout=remaining)
                    return  # undone: the undo handler recorded it
                except TimeoutError:
                    pass
        if self.round != round_ or self.status != "sending":
            return
        self.delivering = True  # from here on an undo is refused
        try:
            self.result = await workflow.execute_activity_method(
                EmailActivities.send_email,
                SendEmailInput(
                    tenant_id=self.inp.tenant_id,
                    draft_id=self.inp.draft_id,
                    operator=self.operator,
                    content_version=decision.content_version,
                    record_decision=not self.recorded,
                ),
                task_queue=queues.EMAIL,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=DELIVERY_RETRY,
                summary=f"deliver {self.inp.draft_id}",
            )
        except ActivityError as e:
            cause = e.cause
            if isinstance(cause, ApplicationError) and cause.type != DELIVERY_UNCERTAIN:
                status, note = "delivery_failed", failed_note(cause.message)
            else:  # uncertain, or every attempt timed out: the ledger says whether DATA was ever reached
                status, note = "delivery_uncertain", uncertain_note(message_id(self.inp.draft_id))
            async with self.lock:
                status = await self.record(status, note=note)
                self.status = status
                if status == "delivery_failed":
                    self.round += 1
                self.delivering = False
                self.set_search_status()
            return
        self.status = "sent"
        self.set_search_status()

    async def record(
        self,
        status: str,
        *,
        action: str | None = None,
        undo_until: datetime | None = None,
        note: str | None = None,
        resolution: str | None = None,
    ) -> str:
        """Write the draft's state; returns the state written (an uncertain delivery that never reached DATA is
        written as failed: nothing could have gone out)."""
        return await workflow.execute_activity_method(
            EmailActivities.record_delivery,
            DeliveryState(
                tenant_id=self.inp.tenant_id,
                draft_id=self.inp.draft_id,
                operator=self.operator,
                status=status,  # type: ignore[arg-type]
                content_version=self.decision.content_version if self.decision else None,
                undo_until=undo_until,
                note=note,
                action=action,
                resolution=resolution,  # type: ignore[arg-type]
            ),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=DB_RETRY,
            summary=f"draft {status}",
        )

    def set_search_status(self) -> None:
        workflow.upsert_search_attributes([search.DRAFT_STATUS.value_set(self.status)])

    # ---- decisions -----------------------------------------------------------------------------------------------

    @workflow.update
    async def send(self, req: SendRequest) -> DecisionResult:
        return await self._send(req)

    async def _send(self, req: SendRequest) -> DecisionResult:
        # The update's body, callable from run: an update handler's decorated type is not a plain method's.
        if not self.v2():
            return await self.send_v1(req)
        async with self.lock:
            if self.status == "sent" and self.result is not None:
                return self.result.model_copy(update={"outcome": "already_sent"})
            if self.status == "sending" and self.decision is not None:
                return self.decision  # the same decision, pressed again
            self.check_sendable()  # again: an earlier handler holding the lock may have changed it
            version = req.content_version
            if req.subject is not None and req.body is not None:  # unsaved changes: validated, then sent as one
                await self.apply_edit(EditRequest(operator=req.operator, subject=req.subject, body=req.body))
                version = self.version
            elif self.version is not None and version is not None and version != self.version:
                raise refused("the draft was edited since you opened it; look at it again before sending")
            elif self.version is not None:
                version = self.version
            window = max(0, req.undo_window_s)
            self.operator = req.operator
            self.decision = DecisionResult(
                draft_id=self.inp.draft_id,
                outcome="sending",
                message_id=message_id(self.inp.draft_id),
                content_version=version,
                undo_until=workflow.now() + timedelta(seconds=window) if window else None,
                status="sending",
            )
            self.status, self.recorded = "sending", False
            self.set_search_status()
            return self.decision

    async def send_v1(self, req: SendRequest) -> DecisionResult:
        if self.status == "sent" and self.result is not None:
            return self.result.model_copy(update={"outcome": "already_sent"})
        self.status = "sending"
        try:
            self.result = await workflow.execute_activity_method(
                EmailActivities.send_email,
                SendEmailInput(tenant_id=self.inp.tenant_id, draft_id=self.inp.draft_id, operator=req.operator),
                summary=f"send {self.inp.draft_id}",
                task_queue=queues.EMAIL,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=V1_SEND_RETRY,
            )
        except BaseException:
            self.status = "pending"  # the operator may try again; the ledger keeps it to one email
            raise
        self.status = "sent"
        workflow.upsert_search_attributes([search.DRAFT_STATUS.value_set("sent")])
        return self.result

    def check_sendable(self) -> None:
        if self.status == "skipped":
            raise refused("draft was skipped; it cannot be sent")
        if self.status == "delivery_uncertain":
            raise refused(
                "the last delivery of this draft is uncertain; resolve it first "
                '(POST /v1/drafts/{id}/resolve with {"outcome": "delivered"} or {"outcome": "send_again"})'
            )

    @send.validator
    def _check_send(self, req: SendRequest) -> None:
        if not self.v2():
            if self.status == "skipped":
                raise refused("draft was skipped; it cannot be sent")
            if self.status == "sending":
                raise refused("a send for this draft is already in progress")
            return
        self.check_sendable()

    @workflow.update
    async def undo(self, req: UndoRequest) -> DecisionResult:
        async with self.lock:
            self.check_undoable()  # again: the window may have closed while this waited for the lock
            self.status, self.operator = "pending", req.operator
            self.round += 1
            self.set_search_status()
            await self.record("pending", action="draft.undone")
        return DecisionResult(draft_id=self.inp.draft_id, outcome="undone", status="pending")

    def check_undoable(self) -> None:
        if self.status != "sending" or self.delivering:
            raise refused(
                f"draft is {'being delivered' if self.delivering else self.status}; "
                "only a send still in its undo window can be undone"
            )

    @undo.validator
    def _check_undo(self, req: UndoRequest) -> None:
        if not self.v2():
            raise refused("this draft's approval predates undo; its send cannot be taken back")
        self.check_undoable()

    @workflow.update
    async def resolve(self, req: ResolveRequest) -> DecisionResult:
        async with self.lock:
            self.check_resolvable()
            self.operator = req.operator
            if req.outcome == "delivered":
                await self.record("sent", action="draft.delivery_resolved", resolution="delivered")
                self.status = "sent"
                self.result = DecisionResult(
                    draft_id=self.inp.draft_id,
                    outcome="sent",
                    message_id=message_id(self.inp.draft_id),
                    content_version=self.decision.content_version if self.decision else None,
                    status="sent",
                )
            else:  # the claim is freed and the same decision delivered again, at once
                await self.record("sending", action="draft.delivery_resolved", resolution="send_again")
                self.status, self.recorded = "sending", True
                if self.decision is not None:
                    self.decision = self.decision.model_copy(update={"undo_until": None})
            self.set_search_status()
        return DecisionResult(draft_id=self.inp.draft_id, outcome="resolved", status=self.status)

    def check_resolvable(self) -> None:
        if self.status != "delivery_uncertain":
            raise refused(f"draft is {self.status}; only an uncertain delivery can be resolved")

    @resolve.validator
    def _check_resolve(self, req: ResolveRequest) -> None:
        if not self.v2():
            raise refused("this draft's approval predates resolve; an engineer can settle it in the email ledger")
        self.check_resolvable()

    @workflow.update
    async def edit(self, req: EditRequest) -> DecisionResult:
        async with self.serial():
            if self.v2() and self.status not in SENDABLE:
                raise refused(f"draft is {self.status}; only a pending draft can be edited")
            return await self.apply_edit(req)

    async def apply_edit(self, req: EditRequest) -> DecisionResult:
        result = await workflow.execute_activity_method(
            EmailActivities.apply_edit,
            EditInput(
                tenant_id=self.inp.tenant_id,
                draft_id=self.inp.draft_id,
                operator=req.operator,
                subject=req.subject,
                body=req.body,
            ),
            summary="validate and store the edit",
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=DB_RETRY,
        )
        if self.v2():  # the rendering's version, as the delivery will compute it (a template edit renders anew)
            self.version = result.content_version or content_version(req.subject, req.body)
        return result

    @edit.validator
    def _check_edit(self, req: EditRequest) -> None:
        if self.status not in (SENDABLE if self.v2() else ("pending",)):
            raise refused(f"draft is {self.status}; only a pending draft can be edited")

    @workflow.update
    async def skip(self, req: SkipRequest) -> DecisionResult:
        async with self.serial():
            if self.v2() and self.status not in SENDABLE:
                raise refused(f"draft is {self.status}; only a pending draft can be skipped")
            self.result = await workflow.execute_activity_method(
                EmailActivities.apply_skip,
                SkipInput(
                    tenant_id=self.inp.tenant_id, draft_id=self.inp.draft_id, operator=req.operator, reason=req.reason
                ),
                summary="skip",
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=DB_RETRY,
            )
            self.status, self.operator = "skipped", req.operator
            workflow.upsert_search_attributes([search.DRAFT_STATUS.value_set("skipped")])
            return self.result

    @skip.validator
    def _check_skip(self, req: SkipRequest) -> None:
        if self.status not in (SENDABLE if self.v2() else ("pending",)):
            raise refused(f"draft is {self.status}; only a pending draft can be skipped")
