"""Alert state per tenant: on-call is told on the crossing, not on every evaluation that sees it breached.
Written only by the worker (activities/oncall.py); the API reads it to show the banner."""

from __future__ import annotations

import asyncpg

from core.alerts import ROUTE_MIX_DRIFT, VALIDATION_FAILURE_RATE
from db import drafts

__all__ = ["ROUTE_MIX_DRIFT", "VALIDATION_FAILURE_RATE", "active", "crossed", "inbox_reading"]


async def crossed(conn: asyncpg.Connection, tenant_id: str, kind: str, breached: bool, detail: str) -> bool:
    """Record whether `kind` is breached now (and what it says); True only when it just went from fine to
    breached. The row lock makes two batches recorded at once, seeing the same crossing, tell on-call once."""
    await conn.execute(
        "insert into alert_state (tenant_id, kind) values ($1, $2) on conflict do nothing", tenant_id, kind
    )
    was = await conn.fetchval(
        "select active from alert_state where tenant_id = $1 and kind = $2 for update", tenant_id, kind
    )
    await conn.execute(
        """update alert_state set active = $3, detail = $4,
                                  changed_at = case when active = $3 then changed_at else now() end
            where tenant_id = $1 and kind = $2""",
        tenant_id,
        kind,
        breached,
        detail,
    )
    return breached and not was


async def active(conn: asyncpg.Connection) -> dict[str, str]:
    """The caller's tenant's alerts that are on now: kind -> what the banner says."""
    rows = await conn.fetch(f"select kind, detail from alert_state where active order by {_BANNER_ORDER}")
    return {r["kind"]: r["detail"] or r["kind"] for r in rows}


_BANNER_ORDER = "kind desc"


async def inbox_reading(conn: asyncpg.Connection) -> asyncpg.Record:
    """What the inbox shows beside its drafts, in one round trip (it was three per list): the last day's
    validation-failure rate (`rate`, null without verdicts), the latest completed scan (`run_date`, `summary`,
    null before the first) and the alerts that are on (`active`: [kind, banner] pairs, as `active` orders them)."""
    row: asyncpg.Record = await conn.fetchrow(
        f"""
        select {drafts.VALIDATION_FAILURE_RATE} as rate, r.run_date, r.summary,
               (select coalesce(json_agg(json_build_array(kind, coalesce(detail, kind)) order by {_BANNER_ORDER}),
                                '[]')
                  from alert_state where active) as active
          from (select 1) one
          left join lateral (select run_date, summary from scan_runs where status = 'completed'
                              order by run_date desc limit 1) r on true"""
    )
    return row
