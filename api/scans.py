"""Scan now, and what the last scans did."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api.deps import Day, DbDep, OperatorDep, TemporalDep
from api.errors import NotFound, Unauthorized, Unavailable, responses
from db import runs
from schemas import queues, search
from schemas.workflow_io import TenantScanInput
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


def scan_workflow_id(tenant_id: str, run_date: dt.date) -> str:
    return f"tenant-scan/{tenant_id}/{run_date.isoformat()}"


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


@router.get("", response_model=list[ScanRun], responses=responses(Unauthorized))
async def list_scans(op: OperatorDep, db: DbDep) -> list[ScanRun]:
    async with db.tenant(op.tenant_id) as conn:
        rows = await runs.recent(conn, 30)
    return [ScanRun(**{k: r[k] for k in ScanRun.model_fields}) for r in rows]


@router.get("/{run_date}", response_model=ScanRun, responses=responses(Unauthorized, NotFound))
async def get_scan(run_date: Day, op: OperatorDep, db: DbDep) -> ScanRun:
    async with db.tenant(op.tenant_id) as conn:
        r = await runs.get(conn, run_date)
    if r is None:
        raise NotFound(f"no scan for {run_date}")
    return ScanRun(**{k: r[k] for k in ScanRun.model_fields})
