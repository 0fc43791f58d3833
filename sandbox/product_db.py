"""A stand-in for a tenant's own product database: the workspace's usage CSV loaded into a real PostgreSQL
database, which the usage connector then reads through a read-only DSN and the tenant's query, as it would in
production. Demo and tests only."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import asyncpg

from db.migrate import ensure_database

QUERY = """select customer_id, date, active_users, logins, messages_sent, agents_run, jobs_executed, error_count,
                  p95_latency_ms, licensed_seats
             from daily_metrics where customer_id = any($1::text[]) and date >= $2::date"""


async def load_usage(server_dsn: str, workspace: Path, name: str = "product_demo") -> str:
    """Create (or refill) database `name` with the workspace's daily metrics; return its DSN."""
    dsn = await ensure_database(server_dsn, name)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("""drop table if exists daily_metrics;
            create table daily_metrics (customer_id text, date date, active_users int, logins int, messages_sent int,
                agents_run int, jobs_executed int, error_count int, p95_latency_ms int, licensed_seats int,
                primary key (customer_id, date))""")
        reader = csv.reader((workspace / "usage" / "daily_metrics.csv").read_text().splitlines())
        next(reader)
        records = [(r[0], dt.date.fromisoformat(r[1]), *map(int, r[2:])) for r in reader]
        await conn.copy_records_to_table("daily_metrics", records=records)
    finally:
        await conn.close()
    return dsn
