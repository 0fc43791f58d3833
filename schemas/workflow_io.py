"""Inputs and results of workflows and activities. IDs and small summaries only: data lives in Postgres."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from schemas.verdict import Route


class DailyTally(BaseModel):
    """What earlier pages of one daily run came to, carried across continue-as-new. Only the failures are kept
    by name (the first 50): 10,000 tenants' outcomes would not fit in an input."""

    completed: int = 0
    failed: int = 0
    already_running: int = 0
    failures: dict[str, str] = Field(default_factory=dict)


class DailyScanInput(BaseModel):
    run_date: dt.date | None = None  # None: the date of the scheduled (or actual) start, UTC
    # Many tenants: one page of tenants per run, at most `in_flight` tenant scans at once, then continue-as-new
    # from the page's last tenant with the tally so far. Defaults keep a page's history under 10,240 events.
    after: str | None = None
    page_size: int = Field(500, ge=1, le=1000)
    in_flight: int = Field(50, ge=1, le=500)
    tally: DailyTally | None = None


class DailyScanResult(BaseModel):
    run_date: dt.date
    tenants: dict[str, str]  # tenant -> "completed: N due, M drafts" or the error (the last page, and the failures)
    tally: DailyTally | None = None  # every page's counts (None: histories recorded before paging)


class TenantScanInput(BaseModel):
    tenant_id: str
    run_date: dt.date


class ScanPlan(BaseModel):
    due: int
    chunks: list[int]
    sources: list[str] = Field(default_factory=list)  # the optional sources connected: hubspot, salesforce, slack


class ChunkRef(BaseModel):
    tenant_id: str
    run_date: dt.date
    chunk_no: int
    sources: list[str] = Field(default_factory=list)  # optional sources to gather besides Stripe and usage
    scope: Literal["scan", "briefing"] = "scan"  # whose customer list the chunk numbers index


class GatherResult(BaseModel):
    source: str
    customers: int
    items: int
    errors: list[str] = Field(default_factory=list)  # per-record problems, named; the rest went on


class BatchRef(BaseModel):
    tenant_id: str
    run_date: dt.date
    batch_no: int
    route: Route
    size: int


class TiebreakInput(BaseModel):
    batch: BatchRef
    customer_id: str


class BatchResult(BaseModel):
    batch_no: int
    route: Route
    classified: int
    demoted: int
    drafts: list[str]  # draft ids


class ChunkResult(BaseModel):
    chunk_no: int
    customers: int
    drafts: int
    demoted: int
    routes: dict[str, int]
    gather_errors: list[str] = Field(default_factory=list)


class TenantScanResult(BaseModel):
    tenant_id: str
    run_date: dt.date
    due: int
    drafts: int
    demoted: int
    routes: dict[str, int]
    gather_errors: list[str] = Field(default_factory=list)


class ApprovalInput(BaseModel):
    tenant_id: str
    draft_id: str
    customer_id: str
    run_date: dt.date
    auto_send: bool = False  # the tenant opted this route in, and the account is neither enterprise nor churning
    review_in_slack: bool = False  # the tenant has a review channel: post the draft there and keep it current


class SendRequest(BaseModel):
    operator: str
    # Set when the operator sends unsaved changes: they are validated like an edit and sent as one decision.
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=5000)
    content_version: str | None = None  # the version the operator saw; another one in the workflow refuses the send
    undo_window_s: int = 0  # the tenant's setting, read by the API when the decision is made


class EditRequest(BaseModel):
    operator: str
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)


class SkipRequest(BaseModel):
    operator: str
    reason: str = Field(min_length=1, max_length=500)


class UndoRequest(BaseModel):
    operator: str


class ResolveRequest(BaseModel):
    operator: str
    outcome: Literal["delivered", "send_again"]


Outcome = Literal["sent", "already_sent", "edited", "unchanged", "skipped", "sending", "undone", "resolved"]


class DecisionResult(BaseModel):
    draft_id: str
    outcome: Outcome
    message_id: str | None = None
    content_version: str | None = None  # what a send decided on
    undo_until: dt.datetime | None = None  # a send can be taken back until then
    status: str | None = None  # the draft's state after the decision


class ReviewMessage(BaseModel):
    """A draft's review message in the tenant's Slack review channel: post it (status pending) or show a decision."""

    tenant_id: str
    draft_id: str
    status: str = "pending"
    operator: str = ""


class SendEmailInput(BaseModel):
    tenant_id: str
    draft_id: str
    operator: str
    content_version: str | None = None  # refuse to deliver anything else
    record_decision: bool = False  # also write the draft's "sending" and audit the decision (no undo window)


class DeliveryState(BaseModel):
    """A change of the draft's delivery state, written by the workflow through an activity."""

    tenant_id: str
    draft_id: str
    operator: str
    status: Literal["pending", "sending", "sent", "delivery_failed", "delivery_uncertain"]
    content_version: str | None = None
    undo_until: dt.datetime | None = None
    note: str | None = None  # what to do, for a failed or uncertain delivery
    action: str | None = None  # the audit log's action, when this change is an operator's decision
    resolution: Literal["delivered", "send_again"] | None = None  # an operator settled an uncertain delivery


class EditInput(BaseModel):
    tenant_id: str
    draft_id: str
    operator: str
    subject: str
    body: str


class SkipInput(BaseModel):
    tenant_id: str
    draft_id: str
    operator: str
    reason: str


# ---- reports -----------------------------------------------------------------------------------------------------


class ReportInput(BaseModel):
    """What a report Schedule starts with; the day comes from the scheduled time in the tenant's time zone."""

    tenant_id: str
    timezone: str = "UTC"
    day: dt.date | None = None  # set to rerun a given day by hand


class ReportRef(BaseModel):
    tenant_id: str
    kind: Literal["briefing", "digest"]
    day: dt.date


class BriefingCounts(BaseModel):
    hot: int
    warm: int
    cold: int
    accounts: int


class ReportResult(BaseModel):
    tenant_id: str
    kind: str
    day: dt.date
    counts: BriefingCounts | None = None
    accounts_read: int | None = None
    slack_ts: str | None = None
    emailed: str | None = None


class ModelBatch(BaseModel):
    """A worker call submitted to a vendor's batch API (llm/batch.py); no batch_id: read synchronously instead."""

    batch_id: str | None = None
    wait_seconds: int = 0
    poll_seconds: int = 60
    result: BatchResult | None = None  # judge_batch: read at once and recorded, nothing left for the workflow
