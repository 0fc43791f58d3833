"""Scan runs as the API and on-call read them: what each run did, and the latest run's route mix.
(The scan itself writes runs through `db.scans`.) All SQL for these reads lives here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg


async def recent(conn: asyncpg.Connection, limit: int = 30) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch("select * from scan_runs order by run_date desc limit $1", limit)
    return rows


async def get(conn: asyncpg.Connection, run_date: dt.date) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from scan_runs where run_date = $1", run_date)


async def latest_routes(conn: asyncpg.Connection) -> tuple[dt.date | None, list[str]]:
    """The routes the latest completed run gave its customers: the input of the route-mix drift alert."""
    run_date = await conn.fetchval("select max(run_date) from scan_runs where status = 'completed'")
    if run_date is None:
        return None, []
    rows = await conn.fetch("select route from scan_customers where run_date = $1 and route is not null", run_date)
    return run_date, [r["route"] for r in rows]


async def latest_completed(conn: asyncpg.Connection) -> tuple[dt.date | None, dict[str, Any]]:
    """The latest completed run's date and summary (its route mix as the scan's end recorded it)."""
    row = await conn.fetchrow(
        "select run_date, summary from scan_runs where status = 'completed' order by run_date desc limit 1"
    )
    return (row["run_date"], row["summary"] or {}) if row else (None, {})


async def completed_before(conn: asyncpg.Connection, run_date: dt.date) -> bool:
    """Whether the caller's tenant has a completed run earlier than run_date (else this one is its first)."""
    return bool(
        await conn.fetchval(
            "select exists (select 1 from scan_runs where status = 'completed' and run_date < $1)", run_date
        )
    )


async def progress(conn: asyncpg.Connection, run_date: dt.date) -> tuple[asyncpg.Record | None, int, int]:
    """A run's row (status, due_count, error), the customers classified so far and the drafts made."""
    run = await conn.fetchrow("select status, due_count, error from scan_runs where run_date = $1", run_date)
    done = await conn.fetchval("select count(*) from classifications where run_date = $1", run_date)
    drafts = await conn.fetchval("select count(*) from drafts where run_date = $1", run_date)
    return run, int(done), int(drafts)
