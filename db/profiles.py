"""Weight versions (the tenant's weighting, append-only), freshness limits, and each source's newest evidence.
All SQL for them lives here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from core.freshness import AS_OF_READ
from core.profiles import WeightProfile, WeightVersion, initial
from db.tenants import get_settings, weights_of


def _version(r: asyncpg.Record) -> WeightVersion:
    return WeightVersion(
        version=r["version"],
        at=r["at"],
        actor=r["actor"],
        default_weights=r["default_weights"],
        profiles=r["profiles"],
    )


async def current(conn: asyncpg.Connection, tenant_id: str) -> WeightVersion:
    """The newest version; version 1 (the tenant's weights, no profiles) while it has none."""
    r = await conn.fetchrow(
        "select * from weight_versions where tenant_id = $1 order by version desc limit 1", tenant_id
    )
    return _version(r) if r else initial(weights_of(await get_settings(conn, tenant_id)))


async def history(conn: asyncpg.Connection, tenant_id: str, limit: int = 50) -> list[WeightVersion]:
    rows = await conn.fetch(
        "select * from weight_versions where tenant_id = $1 order by version desc limit $2", tenant_id, limit
    )
    return [_version(r) for r in rows] or [await current(conn, tenant_id)]


async def append(conn: asyncpg.Connection, tenant_id: str, actor: str, profiles: list[WeightProfile]) -> WeightVersion:
    """A new version with these profiles and the tenant's default weights as they stand. The settings row is
    locked first, so a concurrent weight change (whose trigger also appends) waits its turn for a number."""
    await conn.execute("select 1 from tenant_settings where tenant_id = $1 for update", tenant_id)
    now = await current(conn, tenant_id)
    if not await conn.fetchval("select exists (select 1 from weight_versions where tenant_id = $1)", tenant_id):
        await _insert(conn, tenant_id, now)
    nxt = WeightVersion(version=now.version + 1, actor=actor, default_weights=now.default_weights, profiles=profiles)
    return _version(await _insert(conn, tenant_id, nxt))


async def _insert(conn: asyncpg.Connection, tenant_id: str, v: WeightVersion) -> asyncpg.Record:
    return await conn.fetchrow(
        """insert into weight_versions (tenant_id, version, actor, default_weights, profiles)
           values ($1, $2, $3, $4, $5) returning *""",
        tenant_id,
        v.version,
        v.actor,
        dict(v.default_weights),
        [p.model_dump(mode="json") for p in v.profiles],
    )


async def acting_as(conn: asyncpg.Connection, actor: str) -> None:
    """Who the transaction's changes are by: the weight-version trigger records it on a new version."""
    await conn.execute("select set_config('app.actor', $1, true)", actor)


async def freshness_days(conn: asyncpg.Connection, tenant_id: str) -> dict[str, int]:
    """The limits the tenant set (core/freshness.limits_of adds the defaults)."""
    got: dict[str, Any] = await conn.fetchval(
        "select freshness_days from tenant_settings where tenant_id = $1", tenant_id
    )
    return {k: int(v) for k, v in (got or {}).items()}


async def set_freshness_days(conn: asyncpg.Connection, tenant_id: str, days: dict[str, int]) -> None:
    await conn.execute("update tenant_settings set freshness_days = $2 where tenant_id = $1", tenant_id, days)


async def newest_evidence(conn: asyncpg.Connection, tenant_id: str) -> dict[str, dt.date]:
    """Each source's newest evidence time, over the tenant's last 60 days of scans: the newest observed_on of its items,
    leaving out the signals read as of the scan (a silence, the subscription's status), which say nothing of how
    current the source's data is."""
    rows = await conn.fetch(
        """
        select e.source, max((i->>'observed_on')::date) newest
          from evidence e cross join lateral jsonb_array_elements(e.items) i
         where e.tenant_id = $1 and i->>'observed_on' is not null
           and e.run_date > (select max(run_date) - 60 from evidence where tenant_id = $1)
           and not (i->>'kind' = any($2::text[]))
         group by e.source""",
        tenant_id,
        sorted(AS_OF_READ),
    )
    return {r["source"]: r["newest"] for r in rows}
