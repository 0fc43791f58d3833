"""Scan now, and what the last scans did."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api.deps import Day, DbDep, OperatorDep, TemporalDep
from api.errors import NotFound, Unauthorized, Unavailable, responses
from db import runs
from schemas import ids, queues, search
from schemas.workflow_io import TenantScanInput, TenantScanResult
from workflows.scan import TenantScanWorkflow

router = APIRouter(prefix="/v1/scans", tags=["scans"])


class ScanStarted(BaseModel):
    workflow_id: str
    run_date: dt.date
    temporal_ui: str


class ScanRun(BaseModel):
    run_date: dt.date
    status: str
    due_count: int
    summary: dict[str, Any]
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    reconciled: bool = Field(
        False,
        description="the stored row said running, but the scan's workflow has closed (it could not record its end, "
        "e.g. Postgres was down): status, error and finished_at are Temporal's",
    )


scan_workflow_id = ids.tenant_scan


async def start_scan(temporal: Any, tenant_id: str, run_date: dt.date) -> str:
    """Start (or join) the tenant's scan for a date: the same id as the scheduled run's child, so scanning
    now and the 06:00 tick never scan the same date twice at once."""
    wid = scan_workflow_id(tenant_id, run_date)
    await temporal.start_workflow(
        TenantScanWorkflow.run,
        TenantScanInput(tenant_id=tenant_id, run_date=run_date),
        id=wid,
        task_queue=queues.MAIN,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search.attrs((search.TENANT, tenant_id), (search.RUN_DATE, run_date.isoformat())),
        static_summary=f"scan {tenant_id} for {run_date.isoformat()} (started by hand)",
    )
    return wid


@router.post("", response_model=ScanStarted, status_code=202, responses=responses(Unauthorized, Unavailable))
async def scan_now(op: OperatorDep, temporal: TemporalDep, run_date: Day | None = None) -> ScanStarted:
    """Scan now: starts (or joins) the tenant's scan for the date, under the scheduled run's own workflow id."""
    day = run_date or dt.datetime.now(dt.UTC).date()
    try:
        wid = await start_scan(temporal, op.tenant_id, day)
    except RPCError as e:
        raise Unavailable(f"Temporal did not accept the scan: {e.message}") from e
    return ScanStarted(workflow_id=wid, run_date=day, temporal_ui=f"/namespaces/{temporal.namespace}/workflows/{wid}")


CLOSED_AS = {
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TERMINATED: "failed",
    WorkflowExecutionStatus.TIMED_OUT: "failed",
    WorkflowExecutionStatus.CANCELED: "failed",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "failed",
}


async def reconciled(temporal: Client | None, tenant_id: str, run: ScanRun) -> ScanRun:
    """A run stored as running is checked against its workflow: a scan that closed without recording it (its last
    write failed) is reported as Temporal saw it. Computed on read, never written here: the worker writes."""
    if run.status != "running" or temporal is None:
        return run
    handle = temporal.get_workflow_handle(scan_workflow_id(tenant_id, run.run_date), result_type=TenantScanResult)
    try:
        desc = await handle.describe()
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            return run  # Temporal cannot answer now: the stored row is all we know
        return run.model_copy(
            update={"status": "failed", "reconciled": True, "error": "its workflow no longer exists in Temporal"}
        )
    status = CLOSED_AS.get(desc.status) if desc.status else None
    if status is None:
        return run
    update: dict[str, Any] = {"status": status, "reconciled": True, "finished_at": desc.close_time}
    try:
        result = await handle.result(follow_runs=False)
        update["summary"] = result.model_dump(mode="json")
    except WorkflowFailureError as e:
        update["error"] = workflow_failure(e, desc.status)
    except RPCError:
        pass
    return run.model_copy(update=update)


def workflow_failure(e: WorkflowFailureError, status: WorkflowExecutionStatus | None) -> str:
    if status == WorkflowExecutionStatus.TERMINATED:
        return "the scan's workflow was terminated"
    if status == WorkflowExecutionStatus.TIMED_OUT:
        return "the scan's workflow timed out"
    return getattr(e.cause, "message", None) or str(e.cause or e)


def maybe_temporal(request: Request) -> Client | None:
    """Listing scans works without Temporal; with it, a run left "running" is reconciled."""
    temporal: Client | None = request.app.state.temporal  # put there by the app's lifespan (untyped state)
    return temporal


@router.get("", response_model=list[ScanRun], responses=responses(Unauthorized))
async def list_scans(op: OperatorDep, db: DbDep, request: Request) -> list[ScanRun]:
    async with db.tenant(op.tenant_id) as conn:
        rows = await runs.recent(conn, 30)
    temporal = maybe_temporal(request)
    return [await reconciled(temporal, op.tenant_id, ScanRun(**{k: r[k] for k in _STORED})) for r in rows]


@router.get("/{run_date}", response_model=ScanRun, responses=responses(Unauthorized, NotFound))
async def get_scan(run_date: Day, op: OperatorDep, db: DbDep, request: Request) -> ScanRun:
    async with db.tenant(op.tenant_id) as conn:
        r = await runs.get(conn, run_date)
    if r is None:
        raise NotFound(f"no scan for {run_date}")
    return await reconciled(maybe_temporal(request), op.tenant_id, ScanRun(**{k: r[k] for k in _STORED}))


_STORED = [k for k in ScanRun.model_fields if k != "reconciled"]
