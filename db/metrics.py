"""Aggregates for Prometheus, per tenant, read through a security-definer function: counts, no customer data."""

from __future__ import annotations

import asyncpg


async def per_tenant(pool: asyncpg.Pool | asyncpg.Connection) -> list[asyncpg.Record]:
    """One row per active tenant: drafts waiting, approval latency, validation-failure rate, model spend,
    route mix, connectors in error (see db/migrations/0005_metrics.sql)."""
    return await pool.fetch("select * from app_metrics()")
