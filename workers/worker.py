"""The worker process: one Temporal worker per task queue, sharing one Postgres pool."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.claims import ClaimActivities
from activities.connectors import ConnectorActivities
from activities.email import EmailActivities, SmtpConfig
from activities.judge import JudgeActivities
from activities.reports import ReportActivities
from activities.review import ReviewActivities
from activities.scan import ScanActivities
from db.pool import Database
from schemas import queues
from schemas.settings import Settings
from workflows.approval import ApprovalWorkflow
from workflows.claims import BriefingEscalationWorkflow
from workflows.connectors import CheckConnectorWorkflow
from workflows.reports import HealthBriefingWorkflow, WeeklyDigestWorkflow
from workflows.scan import (
    ClassifyBatchWorkflow,
    DailyScanWorkflow,
    ScanChunkWorkflow,
    SupervisorReviewWorkflow,
    TenantScanWorkflow,
    TiebreakerWorkflow,
)

WORKFLOWS = [
    DailyScanWorkflow,
    TenantScanWorkflow,
    ScanChunkWorkflow,
    ClassifyBatchWorkflow,
    SupervisorReviewWorkflow,
    TiebreakerWorkflow,
    ApprovalWorkflow,
    HealthBriefingWorkflow,
    WeeklyDigestWorkflow,
    CheckConnectorWorkflow,
    BriefingEscalationWorkflow,
]


async def connect_temporal(address: str, namespace: str, metrics_bind: str | None = None) -> Client:
    """metrics_bind (host:port): serve the SDK's Prometheus metrics there, for the worker process."""
    from workers.metrics import runtime_with_prometheus

    runtime = runtime_with_prometheus(metrics_bind) if metrics_bind else None
    try:
        return await Client.connect(
            address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime
        )
    except RuntimeError as e:
        raise RuntimeError(
            f"cannot reach Temporal at {address} (namespace {namespace}): {e}. Start it with "
            f"`renewals dev-server`, or set RENEWALS_TEMPORAL_ADDRESS"
        ) from e


def build_workers(
    client: Client,
    db: Database,
    settings: Settings,
    secret_key: str,
    smtp: SmtpConfig | None = None,
    scan: ScanActivities | None = None,
) -> list[Worker]:
    scan = scan or ScanActivities(
        db,
        client,
        secret_key,
        chunk_size=settings.chunk_size,
        batch_size=settings.batch_size,
        approval_queue=queues.MAIN,
        connector_rps=settings.connector_rps,
        connector_hosts=settings.api_base_hosts(),
    )
    judge = JudgeActivities(db, secret_key)
    report = ReportActivities(db, secret_key)
    claims = ClaimActivities(db)
    review = ReviewActivities(db, secret_key)
    email = EmailActivities(
        db,
        smtp
        or SmtpConfig(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_starttls,
        ),
    )
    runner = SandboxedWorkflowRunner() if settings.workflow_sandbox else UnsandboxedWorkflowRunner()
    workers = [
        Worker(
            client,
            task_queue=queues.MAIN,
            workflows=WORKFLOWS,
            workflow_runner=runner,
            max_concurrent_workflow_tasks=settings.worker_workflow_tasks,
            max_cached_workflows=settings.worker_cached_workflows,
            activities=[
                scan.list_active_tenants,
                scan.list_tenant_page,
                scan.begin_scan,
                scan.finish_scan,
                scan.select_due,
                scan.route_chunk,
                scan.gather_usage,
                scan.mark_missing,
                scan.start_approvals,
                scan.record_and_approve,
                scan.judge_batch,
                judge.read_batch,
                judge.classify_batch,
                judge.submit_model_batch,
                judge.poll_model_batch,
                judge.collect_model_batch,
                judge.supervise_batch,
                judge.tiebreak_row,
                judge.submit_review_batch,
                judge.poll_review_batch,
                judge.collect_supervisor_batch,
                judge.collect_tiebreak_batch,
                judge.resolve_batch,
                judge.record_batch,
                email.apply_edit,
                email.apply_skip,
                email.record_delivery,
                report.plan_briefing,
                report.read_health,
                report.compose_briefing,
                report.compose_digest,
                report.post_report,
                ConnectorActivities(secret_key, own_dsn=db.dsn, hosts=settings.api_base_hosts()).check_connector,
                claims.claim_window,
                claims.escalate_unclaimed,
                review.post_review,
                review.show_review,
            ],
            max_concurrent_activities=settings.worker_activities,
        ),
        Worker(
            client,
            task_queue=queues.STRIPE,
            activities=[scan.sync_customers, scan.sync_invoices, scan.gather_stripe],
            max_task_queue_activities_per_second=queues.RATE_LIMITS[queues.STRIPE],
            max_concurrent_activities=8,
        ),
        *[
            Worker(
                client,
                task_queue=queue,
                # post_report stays here too for posts scheduled on this queue before it moved to the main one
                activities=[scan.gather_source]
                + (
                    [report.post_report] if kind == "slack" else [scan.read_crm_renewals, scan.read_crm_renewal_changes]
                ),
                max_task_queue_activities_per_second=queues.RATE_LIMITS[queue],
                max_concurrent_activities=8,
            )
            for kind, queue in queues.CONNECTORS.items()
        ],
        Worker(
            client,
            task_queue=queues.EMAIL,
            activities=[email.send_email, email.email_report],
            max_concurrent_activities=4,
        ),
    ]
    return only_groups(workers, settings.worker_queues)


def only_groups(workers: list[Worker], groups: list[str]) -> list[Worker]:
    """The workers of the queue groups this process polls (all when none is named)."""
    if not groups:
        return workers
    wanted = {queues.GROUPS[g] for g in groups}
    return [w for w in workers if w.task_queue in wanted]


@contextlib.asynccontextmanager
async def running(workers: list[Worker]) -> AsyncIterator[None]:
    """Run the workers for the body of the `async with`, then shut them down cleanly."""
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield
    finally:
        await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
        await asyncio.gather(*tasks, return_exceptions=True)
