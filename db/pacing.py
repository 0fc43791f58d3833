"""The shared vendor pace (migration 0027): one row per tenant and vendor, claimed in one statement. All SQL for
it lives here; the waiting is the caller's (activities/pacing.py)."""

from __future__ import annotations

import asyncpg

# The slot is the later of the row's next_at and now (an idle vendor earns no burst: requests stay evenly spaced,
# so no clock second holds more than the pace); the row moves one interval past it. The first claim inserts the
# row. The row lock serialises concurrent claims, whichever process makes them.
CLAIM = """
insert into vendor_pace as p (tenant_id, vendor, next_at)
     values ($1, $2, clock_timestamp() + make_interval(secs => $3))
on conflict (tenant_id, vendor)
  do update set next_at = greatest(p.next_at, clock_timestamp()) + make_interval(secs => $3)
  returning extract(epoch from p.next_at - clock_timestamp())::float8 - $3 as delay,
            extract(epoch from p.next_at)::float8 - $3 as slot
"""


async def claim_slot(conn: asyncpg.Connection, tenant_id: str, vendor: str, per_second: float) -> tuple[float, float]:
    """Take the tenant's next slot with the vendor: the seconds to wait before sending (0 when it may go now), and
    the slot itself (seconds since the epoch, on the database's clock)."""
    row = await conn.fetchrow(CLAIM, tenant_id, vendor, 1.0 / per_second)
    assert row is not None  # insert or update, always one row
    return max(0.0, float(row["delay"])), float(row["slot"])


async def claim(conn: asyncpg.Connection, tenant_id: str, vendor: str, per_second: float) -> float:
    """The seconds to wait for the tenant's next slot with the vendor."""
    return (await claim_slot(conn, tenant_id, vendor, per_second))[0]


async def hold(conn: asyncpg.Connection, tenant_id: str, vendor: str, seconds: float) -> None:
    """The vendor answered 429: no slot for this tenant before `seconds` from now, whichever process asks."""
    await conn.execute(
        """update vendor_pace set next_at = greatest(next_at, clock_timestamp() + make_interval(secs => $3))
            where tenant_id = $1 and vendor = $2""",
        tenant_id,
        vendor,
        seconds,
    )
