"""Claims on the briefing's cold accounts, and their escalation. All SQL for them lives here."""

from __future__ import annotations

import datetime as dt

import asyncpg


async def claim(
    conn: asyncpg.Connection, tenant_id: str, day: dt.date, customer_id: str, operator: str, slack_user: str
) -> str:
    """The first claim wins: returns who owns the account now (this operator, or whoever claimed it first)."""
    owner: str = await conn.fetchval(
        """
        insert into briefing_claims (tenant_id, day, customer_id, claimed_by, slack_user, claimed_at)
        values ($1, $2, $3, $4, $5, now())
        on conflict (tenant_id, day, customer_id) do update
            set claimed_by = coalesce(briefing_claims.claimed_by, excluded.claimed_by),
                slack_user = coalesce(briefing_claims.slack_user, excluded.slack_user),
                claimed_at = coalesce(briefing_claims.claimed_at, excluded.claimed_at)
        returning claimed_by""",
        tenant_id,
        day,
        customer_id,
        operator,
        slack_user,
    )
    return owner


async def for_day(conn: asyncpg.Connection, day: dt.date) -> list[asyncpg.Record]:
    """The day's claimed or escalated accounts."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "select * from briefing_claims where day = $1 order by customer_id", day
    )
    return rows


async def escalate_after(conn: asyncpg.Connection) -> int | None:
    """The transaction's tenant's minutes before an unclaimed cold account escalates; None: never."""
    minutes: int | None = await conn.fetchval("select claim_escalate_minutes from tenant_settings")
    return minutes


async def set_escalate_after(conn: asyncpg.Connection, tenant_id: str, minutes: int | None) -> None:
    await conn.execute(
        "update tenant_settings set claim_escalate_minutes = $2 where tenant_id = $1", tenant_id, minutes
    )


async def mark_escalated(conn: asyncpg.Connection, tenant_id: str, day: dt.date, customer_ids: list[str]) -> list[str]:
    """Of these, the accounts still unclaimed and not escalated before, now marked escalated: each is escalated
    once, whatever retries follow."""
    rows = await conn.fetch(
        """
        insert into briefing_claims (tenant_id, day, customer_id, escalated_at)
        select $1, $2, unnest($3::text[]), now()
        on conflict (tenant_id, day, customer_id) do update set escalated_at = now()
            where briefing_claims.claimed_by is null and briefing_claims.escalated_at is null
        returning customer_id""",
        tenant_id,
        day,
        customer_ids,
    )
    return [r["customer_id"] for r in rows]
