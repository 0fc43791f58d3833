"""Usage pushed by tenants whose product database the worker cannot reach: the rows the usage query would
return (connectors/usage.py), posted daily. The next scan and briefing read them."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from api.deps import AdminDep, DbDep
from api.errors import Forbidden, Unauthorized, responses
from db import tenants, usage

router = APIRouter(prefix="/v1/usage", tags=["usage"])
Count = Field(ge=0, le=2_000_000_000)


class UsageRow(BaseModel):
    customer_id: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00]+$", description="the Stripe cus_ id")
    date: dt.date
    active_users: int = Count
    logins: int = Count
    messages_sent: int = Count
    agents_run: int = Count
    jobs_executed: int = Count
    error_count: int = Count
    p95_latency_ms: float = Field(ge=0, le=1e9)
    licensed_seats: int = Count

    @model_validator(mode="after")
    def _not_in_the_future(self) -> UsageRow:
        if self.date > dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1):
            raise ValueError(f"usage for {self.customer_id} is dated {self.date}, in the future")
        return self


class UsagePush(BaseModel):
    rows: list[UsageRow] = Field(min_length=1, max_length=10_000)


class UsageAccepted(BaseModel):
    accepted: int
    customers: int


@router.post("", response_model=UsageAccepted, responses=responses(Unauthorized, Forbidden))
async def push_usage(body: UsagePush, op: AdminDep, db: DbDep) -> UsageAccepted:
    """Store daily usage rows (up to 10,000 a request); a row for a customer and day already pushed replaces it.
    Rows are all stored or, if one is invalid, none (422 names it)."""
    rows = [r.model_dump() for r in body.rows]
    async with db.tenant(op.tenant_id) as conn:
        await usage.upsert(conn, op.tenant_id, rows)
        await tenants.audit(
            conn,
            op.tenant_id,
            op.name,
            "usage.pushed",
            None,
            {"rows": len(rows), "customers": len({r["customer_id"] for r in rows})},
        )
    return UsageAccepted(accepted=len(rows), customers=len({r["customer_id"] for r in rows}))
