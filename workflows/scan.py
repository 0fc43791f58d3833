"""The renewal scan: decide what runs, in what order, with what limits. No I/O here.

DailyScanWorkflow → TenantScanWorkflow (per tenant) → ScanChunkWorkflow (per ~200 customers)
→ ClassifyBatchWorkflow (per 10 customers of one route). Histories stay small: every input and
result is IDs and counts; bundles, prompts and verdicts live in Postgres.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    RetryState,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from schemas import ids, queues, search
    from schemas.retry import PROGRAMMING_ERRORS
    from schemas.workflow_io import (
        BatchRef,
        BatchResult,
        ChunkRef,
        ChunkResult,
        DailyScanInput,
        DailyScanResult,
        DailyTally,
        GatherResult,
        ModelBatch,
        TenantScanInput,
        TenantScanResult,
        TiebreakInput,
    )
    from workflows.activity_refs import JudgeActivities, ScanActivities
    from workflows.options import ActivityOptions

# Timeouts are also how fast work held by a crashed worker is retried elsewhere: keep them near the real need.
# Postgres is ours: an outage of it is ridden out (attempts until schedule_to_close, an hour), while a programming
# error fails at once (PROGRAMMING_ERRORS) instead of being retried into the same TypeError.
DB = ActivityOptions(
    start_to_close_timeout=timedelta(seconds=30),
    schedule_to_close_timeout=timedelta(hours=1),
    retry_policy=RetryPolicy(
        maximum_interval=timedelta(seconds=30), maximum_attempts=0, non_retryable_error_types=PROGRAMMING_ERRORS
    ),
)
VENDOR = ActivityOptions(
    start_to_close_timeout=timedelta(minutes=15),
    heartbeat_timeout=timedelta(seconds=20),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=8,
        non_retryable_error_types=PROGRAMMING_ERRORS,
    ),
)
# HubSpot, Salesforce, Slack: a chunk is paced under the vendor's limit (Slack: under one read a second), so
# it may take many minutes; the heartbeat, not the start-to-close, notices a dead worker.
SOURCE = replace(VENDOR, start_to_close_timeout=timedelta(hours=1))
MODEL = ActivityOptions(
    start_to_close_timeout=timedelta(seconds=90),  # the SDKs time out at 50 s
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=2),
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=6,
        non_retryable_error_types=PROGRAMMING_ERRORS,
    ),
)
# A tenant scan whose chunks ran out of retries on something that comes back (Postgres or a vendor down for
# minutes) waits and re-runs what failed, on the same date and IDs, about six hours in all before it gives up.
RESUME_AFTER = [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5)] + [
    timedelta(minutes=15)
] * 23
PARALLEL_CHUNKS = 4
BATCH_IN_TWO = "batch-in-two-activities"
JUDGED_IN_ONE = "batch-judged-in-one-activity"


def failure_message(err: BaseException) -> str:
    """The innermost message: what actually went wrong, for the operator and the scan_runs row."""
    while isinstance(err, ActivityError | ChildWorkflowError) and err.cause is not None:
        err = err.cause
    return getattr(err, "message", None) or str(err)


def is_transient(err: BaseException) -> bool:
    """Retries ran out on something that may come back (an outage), rather than a refusal that will not change:
    a non-retryable error (a rejected key, a programming error) anywhere in the failure's chain."""
    cause: BaseException | None = err
    while cause is not None:
        if (
            isinstance(cause, ActivityError | ChildWorkflowError)
            and cause.retry_state == RetryState.NON_RETRYABLE_FAILURE
        ):
            return False
        if isinstance(cause, ApplicationError) and (cause.non_retryable or cause.type in PROGRAMMING_ERRORS):
            return False
        cause = getattr(cause, "cause", None)
    return True


async def waited(sub: ModelBatch, poll: Callable[[], Awaitable[bool]]) -> bool:
    """Poll a vendor batch between durable timers (no worker held meanwhile) until it ends or the tenant's wait
    runs out. Returns whether it ended."""
    deadline = workflow.now() + timedelta(seconds=sub.wait_seconds)
    while not (ended := await poll()):
        left = deadline - workflow.now()
        if left <= timedelta(0):
            break
        await workflow.sleep(min(timedelta(seconds=sub.poll_seconds), left), summary="wait for the model batch")
    return ended


# The per-batch workflows (one ClassifyBatchWorkflow per ten due customers, its TIER3 review and tiebreaks) run
# outside the sandbox, as ApprovalWorkflow does: set up per run, the sandbox re-imported this module (its five
# @workflow.defn) and guarded every activation, a quarter of a worker's CPU in the scan's chunk phase under py-spy
# (issue 14). Their imports are all passed through already; tests/test_replay.py replays their histories inside
# the sandbox too (tests/sandboxed_batch.py), which keeps its early warning of a clock, random number or I/O in CI.
# The scan's few per-tenant and per-chunk workflows stay in it.


@workflow.defn(sandboxed=False)
class TiebreakerWorkflow:
    """A third vendor on one customer the worker and the supervisor disagree about."""

    @workflow.run
    async def run(self, inp: TiebreakInput) -> str:
        # Tiebreaks recorded before the review stages had vendor batches replay without them.
        if workflow.patched("review-batches"):
            stage = f"tiebreaker:{inp.customer_id}"
            sub = await MODEL.run(JudgeActivities.submit_review_batch, inp.batch, stage, summary="submit batch")
            if sub.batch_id is not None:
                batch_id = sub.batch_id
                ended = await waited(
                    sub,
                    lambda: MODEL.run(JudgeActivities.poll_review_batch, inp.batch, stage, batch_id, summary="poll"),
                )
                return await MODEL.run(
                    JudgeActivities.collect_tiebreak_batch,
                    inp.batch,
                    inp.customer_id,
                    batch_id,
                    ended,
                    summary=f"collect tiebreak {inp.customer_id}",
                )
        return await MODEL.run(
            JudgeActivities.tiebreak_row, inp.batch, inp.customer_id, summary=f"tiebreak {inp.customer_id}"
        )


@workflow.defn(sandboxed=False)
class SupervisorReviewWorkflow:
    """TIER3: a second vendor reads the worker's ten rows as a whole; disputed rows go to a tiebreaker."""

    @workflow.run
    async def run(self, ref: BatchRef) -> int:
        # Reviews recorded before the review stages had vendor batches replay without them.
        disputed = await (self._by_batch(ref) if workflow.patched("review-batches") else self._now(ref))
        await asyncio.gather(
            *[
                workflow.execute_child_workflow(
                    TiebreakerWorkflow.run,
                    TiebreakInput(batch=ref, customer_id=cid),
                    id=ids.tiebreak(ref.tenant_id, ref.run_date, ref.batch_no, cid),
                    static_summary=f"tiebreak {cid}",
                )
                for cid in disputed
            ]
        )
        return await DB.run(JudgeActivities.resolve_batch, ref, summary="two of three")

    @staticmethod
    async def _now(ref: BatchRef) -> list[str]:
        return await MODEL.run(JudgeActivities.supervise_batch, ref, summary="supervisor reads the batch")

    @staticmethod
    async def _by_batch(ref: BatchRef) -> list[str]:
        """The supervisor through its vendor's batch API when it has one, as the worker call (llm/batch.py)."""
        sub = await MODEL.run(JudgeActivities.submit_review_batch, ref, "supervisor", summary="submit batch")
        if sub.batch_id is None:
            return await SupervisorReviewWorkflow._now(ref)
        batch_id = sub.batch_id
        ended = await waited(
            sub, lambda: MODEL.run(JudgeActivities.poll_review_batch, ref, "supervisor", batch_id, summary="poll")
        )
        return await MODEL.run(
            JudgeActivities.collect_supervisor_batch,
            ref,
            batch_id,
            ended,
            summary=f"collect supervisor batch ({'ended' if ended else 'deadline'})",
        )


@workflow.defn(sandboxed=False)
class ClassifyBatchWorkflow:
    @workflow.run
    async def run(self, ref: BatchRef) -> BatchResult:
        # Set at the start by chunks since "route-at-batch-start"; a batch started before (or by hand) sets it here.
        # Decided by the start's own attributes, so each history replays the same.
        if workflow.info().typed_search_attributes.get(search.ROUTE) != ref.route:
            workflow.upsert_search_attributes([search.ROUTE.value_set(ref.route)])
        # One activity for most batches (judge_batch: read, record, start approvals), where there were four
        # (submit, classify, record, start approvals), each a round trip to the server and a workflow task; a batch
        # read through a vendor's batch API or reviewed (TIER3) is recorded by record_and_approve after. Batches
        # recorded before replay theirs: two activities (BATCH_IN_TWO: read_batch, record_and_approve) or four.
        judged = workflow.patched(JUDGED_IN_ONE)
        in_two = judged or workflow.patched(BATCH_IN_TWO)
        if judged:
            sub = await MODEL.run(
                ScanActivities.judge_batch, ref, task_queue=queues.MAIN, summary=f"{ref.route} model on {ref.size}"
            )
            if sub.result is not None:
                return sub.result
            if sub.batch_id is not None:
                await self._collect(ref, sub, sub.batch_id)
        elif in_two:
            await self._read_in_one(ref)
        # Batches recorded before vendor batch APIs replay without them.
        elif workflow.patched("model-batches"):
            await self._read_by_batch(ref)
        else:
            await MODEL.run(
                JudgeActivities.classify_batch,
                ref,
                task_queue=queues.MAIN,
                summary=f"{ref.route} model on {ref.size} customers",
            )
        # Batches recorded before the TIER3 review existed replay without it.
        if ref.route == "TIER3" and workflow.patched("tier3-supervisor-review"):
            await workflow.execute_child_workflow(
                SupervisorReviewWorkflow.run,
                ref,
                id=ids.supervisor_review(ref.tenant_id, ref.run_date, ref.batch_no),
                static_summary=f"TIER3 review of batch {ref.batch_no}",
            )
        if in_two:
            return await DB.run(ScanActivities.record_and_approve, ref, summary="record, start approvals")
        result = await DB.run(JudgeActivities.record_batch, ref, summary="record")
        if result.drafts:
            await DB.run(
                ScanActivities.start_approvals, ref, result.drafts, summary=f"start {len(result.drafts)} approvals"
            )
        return result

    @staticmethod
    async def _read_in_one(ref: BatchRef) -> None:
        """The worker call: read at once, or submitted to the vendor's batch API and waited on as _read_by_batch."""
        sub = await MODEL.run(
            JudgeActivities.read_batch, ref, task_queue=queues.MAIN, summary=f"{ref.route} model on {ref.size}"
        )
        if sub.batch_id is not None:
            await ClassifyBatchWorkflow._collect(ref, sub, sub.batch_id)

    @staticmethod
    async def _read_by_batch(ref: BatchRef) -> None:
        """The worker call through the vendor's batch API (llm/batch.py), waited on with timers and polls, so no
        worker is held; past the tenant's wait the batch is cancelled and the call made synchronously."""
        sub = await MODEL.run(JudgeActivities.submit_model_batch, ref, task_queue=queues.MAIN, summary="submit batch")
        if sub.batch_id is None:
            await MODEL.run(
                JudgeActivities.classify_batch,
                ref,
                task_queue=queues.MAIN,
                summary=f"{ref.route} model on {ref.size} customers",
            )
            return
        await ClassifyBatchWorkflow._collect(ref, sub, sub.batch_id)

    @staticmethod
    async def _collect(ref: BatchRef, sub: ModelBatch, batch_id: str) -> None:
        """Poll the submitted batch between timers until it ends or the tenant's wait runs out, then collect."""
        ended = await waited(sub, lambda: MODEL.run(JudgeActivities.poll_model_batch, ref, batch_id, summary="poll"))
        await MODEL.run(
            JudgeActivities.collect_model_batch,
            ref,
            batch_id,
            ended,
            task_queue=queues.MAIN,
            summary=f"collect batch ({'ended' if ended else 'deadline'})",
        )


@workflow.defn
class ScanChunkWorkflow:
    @workflow.run
    async def run(self, ref: ChunkRef) -> ChunkResult:
        stripe = VENDOR.run(
            ScanActivities.gather_stripe, ref, task_queue=queues.STRIPE, summary=f"stripe chunk {ref.chunk_no}"
        )
        errors: list[str] = []
        optional = asyncio.ensure_future(self._optional_sources(ref))  # alongside Stripe, on their own queues
        gathered: GatherResult | BaseException
        usage_result: GatherResult | BaseException
        if workflow.patched("usage-connector"):
            usage = VENDOR.run(ScanActivities.gather_usage, ref, summary=f"usage chunk {ref.chunk_no}")
            if workflow.patched("cancel-sources-when-stripe-fails"):
                gathered, usage_result = await self._stripe_first(stripe, usage, optional)
            else:
                gathered, usage_result = await asyncio.gather(stripe, usage, return_exceptions=True)
                if isinstance(gathered, BaseException):
                    raise gathered  # Stripe is the one required source
            # Any other source that fails costs its evidence, not the chunk.
            errors = (
                [f"usage: {failure_message(usage_result)}"]
                if isinstance(usage_result, BaseException)
                else usage_result.errors
            )
        else:
            gathered = await stripe
        errors += await optional
        batches = await DB.run(ScanActivities.route_chunk, ref)
        # The batch's route set with its start, where the batch used to upsert it: an event and a visibility write
        # fewer per batch (issue 14). Chunks recorded before start their batches without it.
        routed = workflow.patched("route-at-batch-start")
        results: list[BatchResult] = await asyncio.gather(
            *[
                workflow.execute_child_workflow(
                    ClassifyBatchWorkflow.run,
                    b,
                    id=ids.classify_batch(ref.tenant_id, ref.run_date, b.batch_no),
                    static_summary=f"{b.route}: {b.size} customers",
                    search_attributes=search.attrs(
                        (search.TENANT, ref.tenant_id),
                        (search.RUN_DATE, ref.run_date.isoformat()),
                        *([(search.ROUTE, b.route)] if routed else []),
                    ),
                )
                for b in batches
            ]
        )
        return ChunkResult(
            chunk_no=ref.chunk_no,
            customers=sum(r.classified for r in results),
            drafts=sum(len(r.drafts) for r in results),
            demoted=sum(r.demoted for r in results),
            routes=dict(Counter(b.route for b in batches for _ in range(b.size))),
            gather_errors=gathered.errors + errors,
        )

    @staticmethod
    async def _stripe_first(
        stripe: Awaitable[GatherResult], usage: Awaitable[GatherResult], optional: asyncio.Future[list[str]]
    ) -> tuple[GatherResult, GatherResult | BaseException]:
        """Stripe is the one required source: when it fails the chunk fails, and the other sources' activities are
        cancelled rather than left running (and heartbeating) for a chunk that is gone."""
        stripe_task, usage_task = asyncio.ensure_future(stripe), asyncio.ensure_future(usage)
        try:
            gathered = await stripe_task
        except BaseException:
            usage_task.cancel()
            optional.cancel()
            await asyncio.gather(usage_task, optional, return_exceptions=True)
            raise
        try:
            return gathered, await usage_task
        except ActivityError as e:
            return gathered, e

    async def _optional_sources(self, ref: ChunkRef) -> list[str]:
        """HubSpot / Salesforce / Slack, each on its own queue. One that fails for good costs its evidence
        (each bundle says so), never the chunk."""
        if not ref.sources:
            return []
        results = await asyncio.gather(
            *[
                SOURCE.run(
                    ScanActivities.gather_source,
                    ref,
                    kind,
                    task_queue=queues.CONNECTORS[kind],
                    summary=f"{kind} chunk {ref.chunk_no}",
                )
                for kind in ref.sources
            ],
            return_exceptions=True,
        )
        errors: list[str] = []
        for kind, r in zip(ref.sources, results, strict=True):
            if isinstance(r, BaseException):
                message = f"{kind}: {failure_message(r)}"
                await DB.run(ScanActivities.mark_missing, ref, kind, message)
                errors.append(message)
            else:
                errors += [e if e.startswith(kind) else f"{kind}: {e}" for e in r.errors]
        return errors


@workflow.defn
class TenantScanWorkflow:
    """One tenant, one run date. A failure is recorded where the operator looks (API and UI), then raised."""

    def __init__(self) -> None:
        self.done: dict[int, ChunkResult] = {}  # chunks finished, kept across resumes so they are not re-run
        self.resumable = False

    @workflow.run
    async def run(self, inp: TenantScanInput) -> TenantScanResult:
        # Scans recorded before resuming existed replay without it.
        self.resumable = workflow.patched("scan-resumes-after-outage")
        await DB.run(ScanActivities.begin_scan, inp)
        for attempt in range(len(RESUME_AFTER) + 1):
            try:
                return await self._scan(inp)
            except (ActivityError, ChildWorkflowError, ApplicationError) as e:
                if not (self.resumable and attempt < len(RESUME_AFTER) and is_transient(e)):
                    message = failure_message(e)
                    await DB.run(ScanActivities.finish_scan, inp, "failed", {}, message)
                    raise ApplicationError(
                        f"scan of {inp.tenant_id} for {inp.run_date}: {message}", type="ScanFailed", non_retryable=True
                    ) from e
                workflow.logger.warning(
                    "tenant %s: %s; resuming in %s (%d chunks already done)",
                    inp.tenant_id,
                    failure_message(e),
                    RESUME_AFTER[attempt],
                    len(self.done),
                )
                await workflow.sleep(RESUME_AFTER[attempt], summary=f"resume after: {failure_message(e)}"[:200])
        raise ApplicationError("unreachable", non_retryable=True)  # the loop returns or raises

    async def _crm_renewal_dates(self, inp: TenantScanInput, changes: bool = False) -> None:
        """One batched read per CRM, on its own queue (one not connected answers at once); with `changes`, of only
        the customers whose links the day's customer sync changed. A CRM that stays down past its retries does not
        hold the scan: the dates it read last time still order the due set."""
        read = ScanActivities.read_crm_renewal_changes if changes else ScanActivities.read_crm_renewals
        reads = [
            SOURCE.run(
                read,
                inp,
                kind,
                task_queue=queues.CONNECTORS[kind],
                summary=f"{kind} dates{' of changed links' if changes else ''}",
            )
            for kind in ("hubspot", "salesforce")
        ]
        for outcome in await asyncio.gather(*reads, return_exceptions=True):
            if isinstance(outcome, ActivityError):
                workflow.logger.warning(
                    "tenant %s: CRM renewal dates not read: %s", inp.tenant_id, failure_message(outcome)
                )
            elif isinstance(outcome, BaseException):
                raise outcome

    @staticmethod
    async def _sync_invoices(inp: TenantScanInput) -> None:
        await VENDOR.run(ScanActivities.sync_invoices, inp, task_queue=queues.STRIPE, summary="sync invoices")

    @staticmethod
    async def _sync_customers(inp: TenantScanInput) -> int:
        return await VENDOR.run(ScanActivities.sync_customers, inp, task_queue=queues.STRIPE, summary="sync customers")

    async def _whole_tenant_reads(self, inp: TenantScanInput) -> int:
        """The three whole-tenant reads side by side, so the due set waits for the longest, not their sum: the
        invoice list (it needs only the Stripe key), the customer sync, and the CRMs' dates from the links the last
        sync stored; then the CRMs' dates of only the customers whose links this sync changed (none, most days: no
        vendor call). When one fails the others are cancelled, not left running into a resumed scan's own."""
        invoices = asyncio.ensure_future(self._sync_invoices(inp))
        crm = asyncio.ensure_future(self._crm_renewal_dates(inp))
        try:
            customers = await self._sync_customers(inp)
            await crm
            await self._crm_renewal_dates(inp, changes=True)
            await invoices
        except BaseException:
            for task in (invoices, crm):
                task.cancel()
            await asyncio.gather(invoices, crm, return_exceptions=True)
            raise
        return customers

    async def _ordered_reads(self, inp: TenantScanInput) -> int:
        customers = await self._sync_customers(inp)
        read = False
        if workflow.patched("crm-renewal-dates"):  # the CRM's renewal dates move the due set before it is frozen
            # The invoice list needs only the Stripe key: read beside the CRMs' dates, not after them (at 10,000
            # customers both are whole-tenant reads ahead of every chunk). Scans recorded before read them in turn.
            if read := workflow.patched("invoices-beside-crm-dates"):
                await asyncio.gather(self._crm_renewal_dates(inp), self._sync_invoices(inp))
            else:
                await self._crm_renewal_dates(inp)
        if not read and workflow.patched("tenant-invoice-list"):  # one invoice list for the tenant, not per customer
            await self._sync_invoices(inp)
        return customers

    async def _scan(self, inp: TenantScanInput) -> TenantScanResult:
        # Scans recorded before read the customers first, then the CRMs' dates and the invoices.
        if workflow.patched("whole-tenant-reads-side-by-side"):
            customers = await self._whole_tenant_reads(inp)
        else:
            customers = await self._ordered_reads(inp)
        plan = await DB.run(ScanActivities.select_due, inp)
        workflow.logger.info(
            "tenant %s: %d customers, %d due, %d chunks", inp.tenant_id, customers, plan.due, len(plan.chunks)
        )
        # A sliding window of chunks in flight: bounded load on the vendors, small pending-children count.
        window = asyncio.Semaphore(PARALLEL_CHUNKS)

        async def one(chunk_no: int) -> None:
            async with window:
                self.done[chunk_no] = await workflow.execute_child_workflow(
                    ScanChunkWorkflow.run,
                    ChunkRef(tenant_id=inp.tenant_id, run_date=inp.run_date, chunk_no=chunk_no, sources=plan.sources),
                    id=ids.scan_chunk(inp.tenant_id, inp.run_date, chunk_no),
                    static_summary=f"chunk {chunk_no}",
                    search_attributes=search.attrs(
                        (search.TENANT, inp.tenant_id), (search.RUN_DATE, inp.run_date.isoformat())
                    ),
                )

        todo = [c for c in plan.chunks if c not in self.done]
        if self.resumable:  # every chunk runs to its end before a failure is judged, so a resume re-runs only those
            failures = [r for r in await asyncio.gather(*[one(c) for c in todo], return_exceptions=True) if r]
            if failures:
                raise failures[0]
        else:
            await asyncio.gather(*[one(c) for c in todo])
        results = [self.done[c] for c in plan.chunks]
        routes: Counter[str] = Counter()
        for r in results:
            routes.update(r.routes)
        result = TenantScanResult(
            tenant_id=inp.tenant_id,
            run_date=inp.run_date,
            due=plan.due,
            drafts=sum(r.drafts for r in results),
            demoted=sum(r.demoted for r in results),
            routes=dict(routes),
            gather_errors=[e for r in results for e in r.gather_errors][:50],
        )
        await DB.run(ScanActivities.finish_scan, inp, "completed", result.model_dump(mode="json"), None)
        return result


@workflow.defn
class DailyScanWorkflow:
    """Started by the renewals-daily Schedule. One tenant's failure never stops the others.

    A page of tenants per run, at most `in_flight` tenant scans at once, then continue-as-new from the page's last
    tenant: a run's history is bounded by its page (at most 9 events a tenant: a child's initiated, started and
    closed events, and two workflow tasks of three events each), not by the number of tenants."""

    @workflow.run
    async def run(self, inp: DailyScanInput) -> DailyScanResult:
        scheduled = workflow.info().typed_search_attributes.get(search.SCHEDULED_START)
        run_date = inp.run_date or (scheduled or workflow.now()).date()
        # Runs recorded before paging replay their one list of every tenant, all started at once.
        if not workflow.patched("daily-scan-pages"):
            tenant_ids = await DB.run(ScanActivities.list_active_tenants)
            outcomes = dict(
                zip(tenant_ids, await asyncio.gather(*[self._scan(t, run_date) for t in tenant_ids]), strict=True)
            )
            return DailyScanResult(run_date=run_date, tenants=outcomes)
        page = await DB.run(ScanActivities.list_tenant_page, inp.after, inp.page_size)
        window = asyncio.Semaphore(inp.in_flight)

        async def bounded(tenant_id: str) -> str:
            async with window:
                return await self._scan(tenant_id, run_date)

        outcomes = dict(zip(page, await asyncio.gather(*[bounded(t) for t in page]), strict=True))
        tally = tallied(inp.tally or DailyTally(), outcomes)
        if len(page) == inp.page_size:  # maybe more: the next page in a fresh history, with the date fixed
            workflow.continue_as_new(
                inp.model_copy(update={"run_date": run_date, "after": page[-1], "tally": tally}),
            )
        return DailyScanResult(run_date=run_date, tenants=tally.failures | outcomes, tally=tally)

    @staticmethod
    async def _scan(tenant_id: str, run_date: dt.date) -> str:
        try:
            r = await workflow.execute_child_workflow(
                TenantScanWorkflow.run,
                TenantScanInput(tenant_id=tenant_id, run_date=run_date),
                id=ids.tenant_scan(tenant_id, run_date),
                static_summary=f"scan {tenant_id}",
                search_attributes=search.attrs((search.TENANT, tenant_id), (search.RUN_DATE, run_date.isoformat())),
            )
            return f"completed: {r.due} due, {r.drafts} drafts"
        except ChildWorkflowError as e:
            return f"failed: {failure_message(e)}"
        except WorkflowAlreadyStartedError:
            return ALREADY_RUNNING


ALREADY_RUNNING = "already running (started by hand today)"
KEEP_FAILURES = 50


def tallied(before: DailyTally, outcomes: dict[str, str]) -> DailyTally:
    """The run's counts with one more page's outcomes; failures kept by name up to KEEP_FAILURES."""
    failures = {t: o for t, o in outcomes.items() if o.startswith("failed")}
    return DailyTally(
        completed=before.completed + sum(o.startswith("completed") for o in outcomes.values()),
        failed=before.failed + len(failures),
        already_running=before.already_running + sum(o == ALREADY_RUNNING for o in outcomes.values()),
        failures=dict(list((before.failures | failures).items())[:KEEP_FAILURES]),
    )
