"""The scan's per-batch workflows as the sandbox runs them, for replay only (tests/test_replay.py).

The worker runs ClassifyBatchWorkflow, SupervisorReviewWorkflow and TiebreakerWorkflow outside Temporal's sandbox
(workflows/scan.py says why). These are the same workflows, the same names, marked sandboxed: their histories replay
inside the sandbox too, so a clock, a random number or I/O added to them still fails in CI. Kept to workflow imports
only: the sandbox imports this module afresh."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.workflow_io import BatchRef, BatchResult, TiebreakInput
from workflows.scan import ClassifyBatchWorkflow, SupervisorReviewWorkflow, TiebreakerWorkflow


@workflow.defn(name="ClassifyBatchWorkflow", sandboxed=True)
class SandboxedClassifyBatchWorkflow(ClassifyBatchWorkflow):
    @workflow.run
    async def run(self, ref: BatchRef) -> BatchResult:
        return await super().run(ref)


@workflow.defn(name="SupervisorReviewWorkflow", sandboxed=True)
class SandboxedSupervisorReviewWorkflow(SupervisorReviewWorkflow):
    @workflow.run
    async def run(self, ref: BatchRef) -> int:
        return await super().run(ref)


@workflow.defn(name="TiebreakerWorkflow", sandboxed=True)
class SandboxedTiebreakerWorkflow(TiebreakerWorkflow):
    @workflow.run
    async def run(self, inp: TiebreakInput) -> str:
        return await super().run(inp)


SANDBOXED = [SandboxedClassifyBatchWorkflow, SandboxedSupervisorReviewWorkflow, SandboxedTiebreakerWorkflow]
