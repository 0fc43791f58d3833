"""Reading the append-only audit log for export (writing it is `tenants.audit`). All SQL for it lives here."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import asyncpg


async def entries(
    conn: asyncpg.Connection, since: dt.datetime | None = None, prefetch: int = 500
) -> AsyncIterator[asyncpg.Record]:
    """Oldest first, through a server-side cursor so a long log is never held in memory at once.
    The caller's transaction (the tenant's) must stay open while this is iterated."""
    async for r in conn.cursor(
        """select id, at, actor, action, subject, detail from audit_log
                                  where $1::timestamptz is null or at >= $1 order by id""",
        since,
        prefetch=prefetch,
    ):
        yield r
