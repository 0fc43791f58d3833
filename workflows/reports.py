"""The scheduled reports: the daily health briefing and the weekly digest, one workflow per tenant per day.

HealthBriefingWorkflow gathers Stripe and usage for every paying customer (the scan's own activities, on a
briefing-scoped customer list), tiers and ranks them, stores the briefing, then posts it to Slack once.
WeeklyDigestWorkflow reads the week's verdicts and diary, stores the digest, then emails and posts it once.
Histories hold IDs and counts only; a 10,000-customer briefing is 20 chunks of two activities.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from core.clock import UnknownTimeZone, local_day
    from schemas import ids, queues, search
    from schemas.workflow_io import ChunkRef, GatherResult, ReportInput, ReportRef, ReportResult, TenantScanInput
    from workflows.activity_refs import EmailActivities, ReportActivities, ScanActivities
    from workflows.claims import BriefingEscalationWorkflow
    from workflows.options import ActivityOptions
    from workflows.scan import DB, MODEL, PARALLEL_CHUNKS, VENDOR, failure_message

# On the main queue: one chat.postMessage a day needs none of the history reads' pace, and must not wait behind
# them for a connector-slack slot (a 06:00 UTC scan's reads fill them as 07:00 in London comes round).
POST = ActivityOptions(
    start_to_close_timeout=timedelta(minutes=2),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=2), maximum_attempts=10
    ),
)
# The HEALTH model reads a chunk of up to 500 accounts, 20 per call, one call after another: minutes, not the
# 90 seconds of a verdict batch. The heartbeat after each call notices a dead worker.
READ = replace(MODEL, start_to_close_timeout=timedelta(minutes=30), heartbeat_timeout=timedelta(minutes=3))
MAIL = ActivityOptions(
    task_queue=queues.EMAIL,
    start_to_close_timeout=timedelta(minutes=1),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5), maximum_attempts=20
    ),
)


CLAIM_ESCALATION = "briefing-claim-escalation"  # posted briefings start BriefingEscalationWorkflow


async def start_escalation(ref: ReportRef) -> None:
    """The claim window's wait runs in its own workflow, left running when the briefing closes. A second run of
    the day (by hand after the Schedule's) finds it started: one escalation per briefing day."""
    try:
        await workflow.start_child_workflow(
            BriefingEscalationWorkflow.run,
            ref,
            id=ids.briefing_escalation(ref.tenant_id, ref.day),
            parent_close_policy=ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass


def report_day(inp: ReportInput) -> dt.date:
    """The day the report is about: given, or the scheduled start's date in the tenant's time zone."""
    if inp.day:
        return inp.day
    when = workflow.info().typed_search_attributes.get(search.SCHEDULED_START) or workflow.now()
    try:
        return local_day(when, inp.timezone)
    except UnknownTimeZone as e:
        raise ApplicationError(
            f"tenant {inp.tenant_id} has an unknown time zone {inp.timezone!r}; set an IANA name such as Europe/Berlin",
            type="BadTimeZone",
            non_retryable=True,
        ) from e


@workflow.defn
class HealthBriefingWorkflow:
    @workflow.run
    async def run(self, inp: ReportInput) -> ReportResult:
        day = report_day(inp)
        ref = ReportRef(tenant_id=inp.tenant_id, kind="briefing", day=day)
        await VENDOR.run(
            ScanActivities.sync_customers,
            TenantScanInput(tenant_id=inp.tenant_id, run_date=day),
            task_queue=queues.STRIPE,
            summary="sync customers",
        )
        plan = await DB.run(ReportActivities.plan_briefing, ref)
        window = asyncio.Semaphore(PARALLEL_CHUNKS)

        async def gather(chunk_no: int) -> None:
            chunk = ChunkRef(tenant_id=inp.tenant_id, run_date=day, chunk_no=chunk_no, scope="briefing")
            stripe: GatherResult | BaseException
            usage: GatherResult | BaseException
            async with window:
                stripe, usage = await asyncio.gather(
                    VENDOR.run(
                        ScanActivities.gather_stripe,
                        chunk,
                        task_queue=queues.STRIPE,
                        summary=f"stripe chunk {chunk_no}",
                    ),
                    VENDOR.run(ScanActivities.gather_usage, chunk, summary=f"usage chunk {chunk_no}"),
                    return_exceptions=True,
                )
            if isinstance(stripe, BaseException):
                raise stripe  # billing is the one source the briefing cannot do without
            if isinstance(usage, BaseException):  # each bundle then lacks usage; the briefing says so
                workflow.logger.warning("usage chunk %d: %s", chunk_no, failure_message(usage))
            if "model" in plan.sources:  # the tenant's HEALTH model; where it fails, the rules score
                try:
                    await READ.run(ReportActivities.read_health, chunk, summary=f"model reads chunk {chunk_no}")
                except ActivityError as e:
                    workflow.logger.warning("health model, chunk %d: %s", chunk_no, failure_message(e))

        await asyncio.gather(*[gather(n) for n in plan.chunks])
        counts = await DB.run(ReportActivities.compose_briefing, ref, summary=f"tier {plan.due} accounts")
        workflow.upsert_search_attributes([search.RUN_DATE.value_set(day.isoformat())])
        try:
            ts = await POST.run(ReportActivities.post_report, ref, summary="post to Slack")
        except ActivityError as e:
            raise ApplicationError(
                f"briefing for {day} stored but not posted: {failure_message(e)}",
                type="BriefingNotPosted",
                non_retryable=True,
            ) from e
        if ts and workflow.patched(CLAIM_ESCALATION):
            await start_escalation(ref)
        return ReportResult(tenant_id=inp.tenant_id, kind="briefing", day=day, counts=counts, slack_ts=ts)


@workflow.defn
class WeeklyDigestWorkflow:
    @workflow.run
    async def run(self, inp: ReportInput) -> ReportResult:
        day = report_day(inp)
        ref = ReportRef(tenant_id=inp.tenant_id, kind="digest", day=day)
        read = await DB.run(ReportActivities.compose_digest, ref, summary="read the week's verdicts")
        emailed, ts = await asyncio.gather(
            MAIL.run(EmailActivities.email_report, ref, summary="email"),
            POST.run(ReportActivities.post_report, ref, summary="post to Slack"),
            return_exceptions=True,
        )
        failed = [
            f"{what}: {failure_message(r)}"
            for what, r in (("email", emailed), ("slack", ts))
            if isinstance(r, BaseException)
        ]
        if failed:
            raise ApplicationError(
                f"digest for {day} stored; " + "; ".join(failed), type="DigestNotDelivered", non_retryable=True
            )
        return ReportResult(
            tenant_id=inp.tenant_id,
            kind="digest",
            day=day,
            accounts_read=read,
            slack_ts=ts if isinstance(ts, str) else None,
            emailed=emailed if isinstance(emailed, str) else None,
        )
