"""Alert state per tenant: on-call is told on the crossing, not on every evaluation that sees it breached.
Written only by the worker (activities/oncall.py); the API reads it to show the banner."""

from __future__ import annotations

import asyncpg

from core.alerts import ROUTE_MIX_DRIFT, VALIDATION_FAILURE_RATE

__all__ = ["ROUTE_MIX_DRIFT", "VALIDATION_FAILURE_RATE", "active", "crossed"]


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
    rows = await conn.fetch("select kind, detail from alert_state where active order by kind desc")
    return {r["kind"]: r["detail"] or r["kind"] for r in rows}
