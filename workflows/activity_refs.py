"""What workflows may know of the activities: their names and typed signatures, nothing else.

Each class mirrors one activity class in activities/ (same class name, same method names, same parameter and
return types) as a Protocol whose methods carry `@activity.defn`, so `execute_activity_method` takes the
activity's name and result type from here and mypy checks every call against the signature. Importing this
module loads pydantic models and the Temporal SDK only: no asyncpg, no vendor SDK, no HTTP client, so a
workflow's sandbox proves what it should. tests/test_layers.py fails when a mirror drifts from its activity.
"""

from __future__ import annotations

from typing import Any, Protocol

from temporalio import activity

from schemas.connectors import ConnectorCheck
from schemas.workflow_io import (
    BatchRef,
    BatchResult,
    BriefingCounts,
    ChunkRef,
    DecisionResult,
    DeliveryState,
    EditInput,
    GatherResult,
    ModelBatch,
    ReportRef,
    ReviewMessage,
    ScanPlan,
    SendEmailInput,
    SkipInput,
    TenantScanInput,
)


class ScanActivities(Protocol):
    """activities.scan.ScanActivities"""

    @activity.defn
    async def list_active_tenants(self) -> list[str]: ...

    @activity.defn
    async def list_tenant_page(self, after: str | None, limit: int) -> list[str]: ...

    @activity.defn
    async def begin_scan(self, inp: TenantScanInput) -> None: ...

    @activity.defn
    async def finish_scan(
        self, inp: TenantScanInput, status: str, summary: dict[str, Any], error: str | None
    ) -> None: ...

    @activity.defn
    async def sync_customers(self, inp: TenantScanInput) -> int: ...

    @activity.defn
    async def read_crm_renewals(self, inp: TenantScanInput, kind: str) -> int: ...

    @activity.defn
    async def read_crm_renewal_changes(self, inp: TenantScanInput, kind: str) -> int: ...

    @activity.defn
    async def sync_invoices(self, inp: TenantScanInput) -> int: ...

    @activity.defn
    async def select_due(self, inp: TenantScanInput) -> ScanPlan: ...

    @activity.defn
    async def gather_stripe(self, ref: ChunkRef) -> GatherResult: ...

    @activity.defn
    async def gather_usage(self, ref: ChunkRef) -> GatherResult: ...

    @activity.defn
    async def gather_source(self, ref: ChunkRef, kind: str) -> GatherResult: ...

    @activity.defn
    async def mark_missing(self, ref: ChunkRef, kind: str, message: str) -> None: ...

    @activity.defn
    async def route_chunk(self, ref: ChunkRef) -> list[BatchRef]: ...

    @activity.defn
    async def start_approvals(self, ref: BatchRef, draft_ids: list[str]) -> int: ...

    @activity.defn
    async def judge_batch(self, ref: BatchRef) -> ModelBatch: ...

    @activity.defn
    async def record_and_approve(self, ref: BatchRef) -> BatchResult: ...


class JudgeActivities(Protocol):
    """activities.judge.JudgeActivities"""

    @activity.defn
    async def classify_batch(self, ref: BatchRef) -> int: ...

    @activity.defn
    async def read_batch(self, ref: BatchRef) -> ModelBatch: ...

    @activity.defn
    async def submit_model_batch(self, ref: BatchRef) -> ModelBatch: ...

    @activity.defn
    async def poll_model_batch(self, ref: BatchRef, batch_id: str) -> bool: ...

    @activity.defn
    async def collect_model_batch(self, ref: BatchRef, batch_id: str, ended: bool) -> int: ...

    @activity.defn
    async def supervise_batch(self, ref: BatchRef) -> list[str]: ...

    @activity.defn
    async def tiebreak_row(self, ref: BatchRef, customer_id: str) -> str: ...

    @activity.defn
    async def submit_review_batch(self, ref: BatchRef, stage: str) -> ModelBatch: ...

    @activity.defn
    async def poll_review_batch(self, ref: BatchRef, stage: str, batch_id: str) -> bool: ...

    @activity.defn
    async def collect_supervisor_batch(self, ref: BatchRef, batch_id: str, ended: bool) -> list[str]: ...

    @activity.defn
    async def collect_tiebreak_batch(self, ref: BatchRef, customer_id: str, batch_id: str, ended: bool) -> str: ...

    @activity.defn
    async def resolve_batch(self, ref: BatchRef) -> int: ...

    @activity.defn
    async def record_batch(self, ref: BatchRef) -> BatchResult: ...


class ReportActivities(Protocol):
    """activities.reports.ReportActivities"""

    @activity.defn
    async def plan_briefing(self, ref: ReportRef) -> ScanPlan: ...

    @activity.defn
    async def read_health(self, ref: ChunkRef) -> int: ...

    @activity.defn
    async def compose_briefing(self, ref: ReportRef) -> BriefingCounts: ...

    @activity.defn
    async def compose_digest(self, ref: ReportRef) -> int: ...

    @activity.defn
    async def post_report(self, ref: ReportRef) -> str | None: ...


class ClaimActivities(Protocol):
    """activities.claims.ClaimActivities"""

    @activity.defn
    async def claim_window(self, ref: ReportRef) -> float | None: ...

    @activity.defn
    async def escalate_unclaimed(self, ref: ReportRef) -> int: ...


class EmailActivities(Protocol):
    """activities.email.EmailActivities"""

    @activity.defn
    async def send_email(self, inp: SendEmailInput) -> DecisionResult: ...

    @activity.defn
    async def email_report(self, ref: ReportRef) -> str: ...

    @activity.defn
    async def apply_edit(self, inp: EditInput) -> DecisionResult: ...

    @activity.defn
    async def apply_skip(self, inp: SkipInput) -> DecisionResult: ...

    @activity.defn
    async def record_delivery(self, inp: DeliveryState) -> str: ...


class ReviewActivities(Protocol):
    """activities.review.ReviewActivities"""

    @activity.defn
    async def post_review(self, msg: ReviewMessage) -> str | None: ...

    @activity.defn
    async def show_review(self, msg: ReviewMessage) -> bool: ...


class ConnectorActivities(Protocol):
    """activities.connectors.ConnectorActivities"""

    @activity.defn
    async def check_connector(self, inp: ConnectorCheck) -> dict[str, Any]: ...


# Which real class each mirror stands for, for the drift test (a string, so this module imports none of them).
MIRRORS = {
    ScanActivities: "activities.scan.ScanActivities",
    JudgeActivities: "activities.judge.JudgeActivities",
    ReportActivities: "activities.reports.ReportActivities",
    EmailActivities: "activities.email.EmailActivities",
    ConnectorActivities: "activities.connectors.ConnectorActivities",
    ClaimActivities: "activities.claims.ClaimActivities",
    ReviewActivities: "activities.review.ReviewActivities",
}
