"""Aggregates for Prometheus, per tenant, read through a security-definer function: counts, no customer data."""

from __future__ import annotations

import asyncpg


async def per_tenant(pool: asyncpg.Pool | asyncpg.Connection) -> list[asyncpg.Record]:
    """One row per active tenant: drafts waiting, approval latency, validation-failure rate, model spend,
    route mix, connectors in error (see db/migrations/0005_metrics.sql)."""
    rows: list[asyncpg.Record] = await pool.fetch("select * from app_metrics()")
    return rows


async def draft_states(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Drafts per tenant and state, the decided-but-not-done ones included: sending, delivery_failed and
    delivery_uncertain (see db/migrations/0020_send_decision.sql)."""
    rows: list[asyncpg.Record] = await conn.fetch("select * from app_draft_states()")
    return rows


async def agreement(conn: asyncpg.Connection, save: str, upsell: str, days: int) -> list[asyncpg.Record]:
    """Decided drafts and overrides per tenant, route and source, and how many agreed with the model's verdict
    (see db/migrations/0032_agreement.sql)."""
    rows: list[asyncpg.Record] = await conn.fetch("select * from app_agreement($1, $2, $3)", save, upsell, days)
    return rows
