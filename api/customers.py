"""Monitored customers with their last verdict, each customer's diary, and the audit log for export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import AdminDep, DbDep, OperatorDep
from api.errors import Forbidden, NotFound, Unauthorized, responses

router = APIRouter(prefix="/v1", tags=["customers"])


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


class DiaryEntry(BaseModel):
    run_date: str
    paragraph: str
    cited_source_ids: list[str]
    classification: str | None
    severity: str | None


@router.get("/customers", response_model=list[CustomerSummary], responses=responses(Unauthorized))
async def list_customers(op: OperatorDep, db: DbDep, limit: int = Query(100, ge=1, le=500),
                         offset: int = Query(0, ge=0, le=1_000_000)) -> list[CustomerSummary]:
    async with db.tenant(op.tenant_id) as conn:
        rows = await conn.fetch("""
            select c.id, c.name, c.arr_cents, c.renewal_date, c.status, l.run_date, l.classification, l.severity,
                   l.route, l.needs_review
              from customers c
              left join lateral (select * from classifications k where k.customer_id = c.id
                                  order by k.run_date desc limit 1) l on true
             order by c.renewal_date nulls last, c.id limit $1 offset $2""", limit, offset)
    return [CustomerSummary(id=r["id"], name=r["name"], arr_usd=r["arr_cents"] / 100,
                            renewal_date=r["renewal_date"].isoformat() if r["renewal_date"] else None,
                            status=r["status"], last_run_date=r["run_date"].isoformat() if r["run_date"] else None,
                            classification=r["classification"], severity=r["severity"], route=r["route"],
                            needs_review=r["needs_review"]) for r in rows]


@router.get("/customers/{customer_id}/diary", response_model=list[DiaryEntry],
            responses=responses(Unauthorized, NotFound))
async def diary(customer_id: str, op: OperatorDep, db: DbDep) -> list[DiaryEntry]:
    async with db.tenant(op.tenant_id) as conn:
        if not await conn.fetchval("select exists (select 1 from customers where id = $1)", customer_id):
            raise NotFound(f"customer {customer_id} not found")
        rows = await conn.fetch("""
            select d.run_date, d.paragraph, d.cited_source_ids, c.classification, c.severity
              from diary_entries d left join classifications c
                on c.tenant_id = d.tenant_id and c.customer_id = d.customer_id and c.run_date = d.run_date
             where d.customer_id = $1 order by d.run_date desc""", customer_id)
    return [DiaryEntry(run_date=r["run_date"].isoformat(), paragraph=r["paragraph"],
                       cited_source_ids=list(r["cited_source_ids"]), classification=r["classification"],
                       severity=r["severity"]) for r in rows]


@router.get("/audit", responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}},
                                 **responses(Unauthorized, Forbidden)})
async def export_audit(op: AdminDep, db: DbDep, format: Literal["jsonl", "csv"] = "jsonl") -> StreamingResponse:
    """The tenant's audit log, oldest first, as JSON lines or CSV."""
    async with db.tenant(op.tenant_id) as conn:
        rows = await conn.fetch("select id, at, actor, action, subject, detail from audit_log order by id")
    records: list[dict[str, Any]] = [{"id": r["id"], "at": r["at"].isoformat(), "actor": r["actor"],
                                      "action": r["action"], "subject": r["subject"], "detail": r["detail"]}
                                     for r in rows]

    async def lines() -> AsyncIterator[str]:
        if format == "jsonl":
            for rec in records:
                yield json.dumps(rec) + "\n"
            return
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["id", "at", "actor", "action", "subject", "detail"])
        for rec in records:
            writer.writerow([rec["id"], rec["at"], rec["actor"], rec["action"], rec["subject"],
                             json.dumps(rec["detail"])])
        yield buf.getvalue()

    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(lines(), media_type=media,
                             headers={"content-disposition": f'attachment; filename="audit.{format}"'})
