"""The approval workflow as the sandbox runs it, for replay only (tests/test_replay.py).

The worker runs ApprovalWorkflow outside Temporal's sandbox (workflows/approval.py says why). This is the same
workflow, the same name and handlers, marked sandboxed: its histories replay inside the sandbox too, so a clock, a
random number or I/O added to it still fails in CI. Kept to workflow imports only: the sandbox imports this module
afresh."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.workflow_io import ApprovalInput
from workflows.approval import ApprovalWorkflow


@workflow.defn(name="ApprovalWorkflow", sandboxed=True)
class SandboxedApprovalWorkflow(ApprovalWorkflow):
    @workflow.run
    async def run(self, inp: ApprovalInput) -> str:
        return await super().run(inp)
