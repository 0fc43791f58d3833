"""Alert state per tenant: notify on the crossing, not on every request that sees the threshold exceeded."""

from __future__ import annotations

import asyncpg

VALIDATION_FAILURE_RATE = "validation_failure_rate"
ROUTE_MIX_DRIFT = "route_mix_drift"


async def crossed(conn: asyncpg.Connection, tenant_id: str, kind: str, breached: bool, detail: str) -> bool:
    """Record whether `kind` is breached now; True only when it just went from fine to breached.

    Read first without a lock: the inbox asks on every request and the answer is almost always "no change",
    which then costs no write and no row lock. Only a change takes the row lock and re-reads, so two requests
    seeing the same crossing notify once."""
    was = await conn.fetchval("select active from alert_state where tenant_id = $1 and kind = $2", tenant_id, kind)
    if was is not None and was == breached:
        return False
    await conn.execute(
        "insert into alert_state (tenant_id, kind) values ($1, $2) on conflict do nothing", tenant_id, kind
    )
    was = await conn.fetchval(
        "select active from alert_state where tenant_id = $1 and kind = $2 for update", tenant_id, kind
    )
    if was != breached:
        await conn.execute(
            "update alert_state set active = $3, changed_at = now(), detail = $4 where tenant_id = $1 and kind = $2",
            tenant_id,
            kind,
            breached,
            detail,
        )
    return breached and not was
