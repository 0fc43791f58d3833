"""Usage rows pushed over the API, stored per customer per day (a later push for a day replaces it)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import asyncpg

from db.pool import Database
from schemas.usage import COLUMNS

METRICS = COLUMNS[2:]


async def upsert(conn: asyncpg.Connection, tenant_id: str, rows: list[dict[str, Any]]) -> None:
    cols = ", ".join(METRICS)
    await conn.executemany(
        f"""
        insert into usage_daily (tenant_id, customer_id, date, {cols})
        values ($1, $2, $3, {", ".join(f"${i}" for i in range(4, 4 + len(METRICS)))})
        on conflict (tenant_id, customer_id, date) do update
            set {", ".join(f"{c} = excluded.{c}" for c in METRICS)}, received_at = now()""",
        [(tenant_id, r["customer_id"], r["date"], *(r[c] for c in METRICS)) for r in rows],
    )


async def any_pushed(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("select exists (select 1 from usage_daily)"))


class PushedUsage:
    """The pushed rows behind the same `fetch(customer_ids, since)` as the product-database source."""

    def __init__(self, db: Database, tenant_id: str) -> None:
        self.db, self.tenant_id = db, tenant_id

    async def fetch(self, customer_ids: list[str], since: dt.date) -> dict[str, list[dict[str, Any]]]:
        async with self.db.tenant(self.tenant_id) as conn:
            rows = await conn.fetch(
                f"""select customer_id, date, {", ".join(METRICS)} from usage_daily
                                         where customer_id = any($1::text[]) and date >= $2 order by date""",
                customer_ids,
                since,
            )
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            row = dict(r.items())
            row["p95_latency_ms"] = float(row["p95_latency_ms"])
            out[row["customer_id"]].append(row)
        return out
