"""Alert state per tenant: notify on the crossing, not on every request that sees the threshold exceeded."""

from __future__ import annotations

import asyncpg


async def crossed(conn: asyncpg.Connection, tenant_id: str, kind: str, breached: bool, detail: str) -> bool:
    """Record whether `kind` is breached now; True only when it just went from fine to breached. The row is
    locked, so two requests seeing the same crossing notify once."""
    await conn.execute("insert into alert_state (tenant_id, kind) values ($1, $2) on conflict do nothing",
                       tenant_id, kind)
    was = await conn.fetchval("select active from alert_state where tenant_id = $1 and kind = $2 for update",
                              tenant_id, kind)
    if was != breached:
        await conn.execute("update alert_state set active = $3, changed_at = now(), detail = $4 "
                           "where tenant_id = $1 and kind = $2", tenant_id, kind, breached, detail)
    return breached and not was
