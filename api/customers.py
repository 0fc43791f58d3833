"""Monitored customers with their last verdict, each customer's diary, and the audit log for export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.deps import AdminDep, DbDep, Moment, OperatorDep
from api.errors import Forbidden, NotFound, Unauthorized, Unprocessable, responses
from db import audit, customers, overrides

router = APIRouter(prefix="/v1", tags=["customers"])
AUDIT_COLUMNS = ("id", "at", "actor", "action", "subject", "detail")


class CustomerSummary(BaseModel):
    id: str
    name: str
    arr_usd: float
    renewal_date: str | None
    status: str
    last_run_date: str | None
    classification: str | None
    severity: str | None
    route: str | None
    needs_review: bool | None
    abstain_reason: str | None = None
    model: str | None = Field(None, description="the model behind the latest verdict")


class DiaryEntry(BaseModel):
    run_date: str
    paragraph: str
    cited_source_ids: list[str]
    classification: str | None
    severity: str | None
    route: str | None = None
    kind: str = Field("run", description="run: the scan's paragraph; override.set|cleared|lapsed: an operator line")
    actor: str | None = Field(None, description="for an operator line: who")


def diary_entry(r: Any) -> DiaryEntry:
    return DiaryEntry(
        run_date=r["run_date"].isoformat(),
        paragraph=r["paragraph"],
        cited_source_ids=list(r["cited_source_ids"]),
        classification=r["classification"],
        severity=r["severity"],
        route=r["route"],
    )


@router.get("/customers", response_model=list[CustomerSummary], responses=responses(Unauthorized))
async def list_customers(
    op: OperatorDep,
    db: DbDep,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    classification: Literal["expansion", "standard", "at_risk", "likely_churn"] | None = None,
    abstain_reason: str | None = Query(
        None,
        max_length=200,
        description=(
            "a prefix, e.g. source_validation_failed: only the customers whose latest verdict was demoted for "
            "citing outside their evidence"
        ),
    ),
) -> list[CustomerSummary]:
    """Monitored customers, soonest renewal first, each with its latest verdict."""
    async with db.tenant(op.tenant_id) as conn:
        rows = await customers.list_with_last_verdict(
            conn, limit, offset, classification=classification, abstain_reason=abstain_reason
        )
    return [
        CustomerSummary(
            id=r["id"],
            name=r["name"],
            arr_usd=r["arr_cents"] / 100,
            renewal_date=r["renewal_date"].isoformat() if r["renewal_date"] else None,
            status=r["status"],
            last_run_date=r["run_date"].isoformat() if r["run_date"] else None,
            classification=r["classification"],
            severity=r["severity"],
            route=r["route"],
            needs_review=r["needs_review"],
            abstain_reason=r["abstain_reason"],
            model=r["model"],
        )
        for r in rows
    ]


@router.get(
    "/customers/{customer_id}/diary", response_model=list[DiaryEntry], responses=responses(Unauthorized, NotFound)
)
async def diary(
    customer_id: str,
    op: OperatorDep,
    db: DbDep,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> list[DiaryEntry]:
    """The customer's diary, newest first: one immutable paragraph per run, beside that run's verdict."""
    async with db.tenant(op.tenant_id) as conn:
        if not await customers.exists(conn, customer_id):
            raise NotFound(f"customer {customer_id} not found")
        rows = await customers.diary(conn, customer_id, limit, offset)
        lines = await overrides.notes(conn, customer_id)
    return with_notes([diary_entry(r) for r in rows], lines, complete=len(rows) < limit, first_page=offset == 0)


def with_notes(entries: list[DiaryEntry], lines: list[Any], *, complete: bool, first_page: bool) -> list[DiaryEntry]:
    """The diary's operator lines (overrides set, cleared, lapsed) among a page of run paragraphs, newest first:
    those dated within the page's span (the first page also takes the newer ones, the last page the older)."""
    if not entries and not first_page:
        return entries
    newest = entries[0].run_date if entries and not first_page else "9999"
    oldest = entries[-1].run_date if entries and not complete else ""
    notes = [
        DiaryEntry(
            run_date=r["at"].date().isoformat(),
            paragraph=r["paragraph"],
            cited_source_ids=[],
            classification=None,
            severity=None,
            kind=r["kind"],
            actor=r["actor"],
        )
        for r in lines
    ]
    shown = [n for n in notes if oldest <= n.run_date <= newest]
    return sorted(entries + shown, key=lambda e: (e.run_date, e.kind != "run"), reverse=True)


def _record(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "at": r["at"].isoformat(),
        "actor": r["actor"],
        "action": r["action"],
        "subject": r["subject"],
        "detail": r["detail"],
    }


@router.get(
    "/audit",
    responses={
        200: {
            "description": "the audit log, oldest first",
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        **responses(Unauthorized, Forbidden),
    },
)
async def export_audit(
    op: AdminDep,
    db: DbDep,
    format: Literal["jsonl", "csv"] = "jsonl",
    since: Annotated[Moment | None, Query(description="only entries at or after this time")] = None,
) -> StreamingResponse:
    """The tenant's append-only audit log, oldest first, as JSON lines or CSV (the `detail` column as JSON).
    Streamed from a cursor in the tenant's transaction, so a long log is never held in memory."""
    tenant = op.tenant_id
    if since is not None:
        try:
            since = since.astimezone(dt.UTC) if since.tzinfo else since.replace(tzinfo=dt.UTC)
        except (OverflowError, ValueError) as e:
            raise Unprocessable(f"since={since!r} is not a usable time: {e}") from e

    async def lines() -> AsyncIterator[str]:
        if format == "csv":
            yield ",".join(AUDIT_COLUMNS) + "\r\n"
        async with db.tenant(tenant) as conn:
            async for r in audit.entries(conn, since):
                rec = _record(r)
                if format == "jsonl":
                    yield json.dumps(rec) + "\n"
                else:
                    buf = io.StringIO()
                    csv.writer(buf).writerow([*(rec[c] for c in AUDIT_COLUMNS[:-1]), json.dumps(rec["detail"])])
                    yield buf.getvalue()

    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(
        lines(), media_type=media, headers={"content-disposition": f'attachment; filename="audit.{format}"'}
    )
