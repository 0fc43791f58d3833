"""One draft, waiting — for weeks if need be — for an operator to send, edit or skip it.

Decisions arrive as Workflow Updates so the caller learns the real outcome. The API gives each decision
a deterministic update id, so a double click or a retried request is the same update, applied once.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from schemas import queues, search
    from schemas.workflow_io import (
        ApprovalInput,
        DecisionResult,
        EditInput,
        EditRequest,
        SendEmailInput,
        SendRequest,
        SkipInput,
        SkipRequest,
    )
    from workflows.activity_refs import EmailActivities
    from workflows.options import ActivityOptions

SEND = ActivityOptions(
    task_queue=queues.EMAIL,
    start_to_close_timeout=timedelta(minutes=1),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5), maximum_attempts=20
    ),
)
DB = ActivityOptions(start_to_close_timeout=timedelta(minutes=1), retry_policy=RetryPolicy(maximum_attempts=10))


@workflow.defn
class ApprovalWorkflow:
    @workflow.init
    def __init__(self, inp: ApprovalInput) -> None:
        # Set before any handler runs: a Send that arrives with the workflow's first task needs the input.
        self.inp = inp
        self.status = "pending"  # pending | sending | sent | skipped
        self.result: DecisionResult | None = None

    @workflow.run
    async def run(self, inp: ApprovalInput) -> str:
        if inp.auto_send and workflow.patched("auto-send"):
            await self._send(SendRequest(operator="auto-send"))
        await workflow.wait_condition(lambda: self.status in ("sent", "skipped"))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    @workflow.query
    def state(self) -> str:
        return self.status

    @workflow.update
    async def send(self, req: SendRequest) -> DecisionResult:
        return await self._send(req)

    async def _send(self, req: SendRequest) -> DecisionResult:
        # The update's body, callable from run: an update handler's decorated type is not a plain method's.
        if self.status == "sent" and self.result is not None:
            return self.result.model_copy(update={"outcome": "already_sent"})
        self.status = "sending"
        try:
            self.result = await SEND.run(
                EmailActivities.send_email,
                SendEmailInput(tenant_id=self.inp.tenant_id, draft_id=self.inp.draft_id, operator=req.operator),
                summary=f"send {self.inp.draft_id}",
            )
        except BaseException:
            self.status = "pending"  # the operator may try again; the ledger keeps it to one email
            raise
        self.status = "sent"
        workflow.upsert_search_attributes([search.DRAFT_STATUS.value_set("sent")])
        return self.result

    @send.validator
    def _check_send(self, req: SendRequest) -> None:
        if self.status == "skipped":
            raise ValueError("draft was skipped; it cannot be sent")
        if self.status == "sending":
            raise ValueError("a send for this draft is already in progress")

    @workflow.update
    async def edit(self, req: EditRequest) -> DecisionResult:
        return await DB.run(
            EmailActivities.apply_edit,
            EditInput(
                tenant_id=self.inp.tenant_id,
                draft_id=self.inp.draft_id,
                operator=req.operator,
                subject=req.subject,
                body=req.body,
            ),
            summary="validate and store the edit",
        )

    @edit.validator
    def _check_edit(self, req: EditRequest) -> None:
        if self.status != "pending":
            raise ValueError(f"draft is {self.status}; only a pending draft can be edited")

    @workflow.update
    async def skip(self, req: SkipRequest) -> DecisionResult:
        self.result = await DB.run(
            EmailActivities.apply_skip,
            SkipInput(
                tenant_id=self.inp.tenant_id, draft_id=self.inp.draft_id, operator=req.operator, reason=req.reason
            ),
            summary="skip",
        )
        self.status = "skipped"
        workflow.upsert_search_attributes([search.DRAFT_STATUS.value_set("skipped")])
        return self.result

    @skip.validator
    def _check_skip(self, req: SkipRequest) -> None:
        if self.status != "pending":
            raise ValueError(f"draft is {self.status}; only a pending draft can be skipped")
