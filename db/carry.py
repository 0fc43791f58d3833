"""The SQL carry-forward needs: each customer's latest verdict before a run date, with its diary entry's id."""

from __future__ import annotations

import datetime as dt

import asyncpg

from core.carry import DEFAULT_DAYS, LastVerdict
from core.routing import TARGET_MIX, RoutingThresholds


async def last_verdicts(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, customer_ids: list[str]
) -> dict[str, LastVerdict]:
    rows = await conn.fetch(
        """
        select distinct on (c.customer_id) c.customer_id, c.run_date, c.classification, c.severity,
               c.cited_source_ids, c.recommended_action, c.abstain_reason, c.needs_review, c.model, c.fingerprint,
               c.carried_from, d.id diary_id
          from classifications c join diary_entries d
            on d.tenant_id = c.tenant_id and d.customer_id = c.customer_id and d.run_date = c.run_date
         where c.tenant_id = $1 and c.run_date < $2 and c.customer_id = any($3::text[])
         order by c.customer_id, c.run_date desc""",
        tenant_id,
        run_date,
        customer_ids,
    )
    return {
        r["customer_id"]: LastVerdict(
            run_date=r["run_date"],
            classification=r["classification"],
            severity=r["severity"],
            cited_source_ids=list(r["cited_source_ids"]),
            recommended_action=r["recommended_action"],
            abstain_reason=r["abstain_reason"],
            needs_review=r["needs_review"],
            model=r["model"],
            fingerprint=r["fingerprint"],
            carried_from=r["carried_from"],
            diary_id=r["diary_id"],
        )
        for r in rows
    }


async def cost_settings(conn: asyncpg.Connection) -> tuple[int, int, float]:
    """The transaction's tenant's (carry_forward_days, tier3_arr_usd, strong_signal)."""
    row = await conn.fetchrow("select carry_forward_days, tier3_arr_usd, strong_signal from tenant_settings")
    if row is None:
        t = RoutingThresholds()
        return DEFAULT_DAYS, t.tier3_arr_cents // 100, t.strong_signal
    return int(row["carry_forward_days"]), int(row["tier3_arr_usd"]), float(row["strong_signal"])


async def update_cost_settings(
    conn: asyncpg.Connection, tenant_id: str, carry_forward_days: int, tier3_arr_usd: int, strong_signal: float
) -> None:
    await conn.execute(
        """update tenant_settings set carry_forward_days = $2, tier3_arr_usd = $3, strong_signal = $4,
                                      updated_at = now() where tenant_id = $1""",
        tenant_id,
        carry_forward_days,
        tier3_arr_usd,
        strong_signal,
    )


async def thresholds(conn: asyncpg.Connection) -> RoutingThresholds:
    """The transaction's tenant's routing thresholds: its TIER3 line and its "moved" rule."""
    _, tier3_arr_usd, strong_signal = await cost_settings(conn)
    return RoutingThresholds(tier3_arr_cents=tier3_arr_usd * 100, strong_signal=strong_signal)


async def route_mix_target(conn: asyncpg.Connection) -> dict[str, tuple[float, float]]:
    """The transaction's tenant's target bands of the realised route mix (core.routing.TARGET_MIX by default)."""
    bands = await conn.fetchval("select route_mix_target from tenant_settings")
    return {r: (float(lo), float(hi)) for r, (lo, hi) in bands.items()} if bands else dict(TARGET_MIX)


async def update_route_mix_target(
    conn: asyncpg.Connection, tenant_id: str, bands: dict[str, tuple[float, float]]
) -> None:
    await conn.execute(
        "update tenant_settings set route_mix_target = $2, updated_at = now() where tenant_id = $1",
        tenant_id,
        {r: list(band) for r, band in bands.items()},
    )


async def carried_count(conn: asyncpg.Connection, tenant_id: str, run_date: dt.date) -> int:
    """How many of a run's verdicts were carried forward without a model call."""
    return int(
        await conn.fetchval(
            "select count(*) from classifications where tenant_id = $1 and run_date = $2 and carried_from is not null",
            tenant_id,
            run_date,
        )
    )


async def batch_wait_seconds(conn: asyncpg.Connection) -> int:
    """The transaction's tenant's longest wait on a vendor batch (0: batches off)."""
    return int(await conn.fetchval("select batch_wait_seconds from tenant_settings") or 0)


async def update_batch_wait(conn: asyncpg.Connection, tenant_id: str, seconds: int) -> None:
    await conn.execute(
        "update tenant_settings set batch_wait_seconds = $2, updated_at = now() where tenant_id = $1",
        tenant_id,
        seconds,
    )
