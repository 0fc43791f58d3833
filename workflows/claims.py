"""BriefingEscalationWorkflow: after the daily briefing is posted, wait out the tenant's claim window, then
escalate the cold accounts nobody claimed with "Mine" to on-call. Its own small workflow (a timer and two
activities), started by the briefing and left to run when the briefing closes, so the briefing's history stays as
it was and the wait holds no worker slot."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.workflow_io import ReportRef
    from workflows.activity_refs import ClaimActivities
    from workflows.scan import DB


@workflow.defn
class BriefingEscalationWorkflow:
    @workflow.run
    async def run(self, ref: ReportRef) -> int:
        wait = await DB.run(ClaimActivities.claim_window, ref, summary="claim window")
        if wait is None:
            return 0
        if wait > 0:
            await workflow.sleep(timedelta(seconds=wait))
        return await DB.run(ClaimActivities.escalate_unclaimed, ref, summary="escalate unclaimed")
