"""The model-call ledger and the tenant's model configuration. All SQL for these lives here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

MODEL_VENDORS = ("anthropic", "openai", "google", "litellm")


async def spent_today(conn: asyncpg.Connection, customer_ids: list[str]) -> dict[str, float]:
    """USD spent on each customer since 00:00 UTC today, all runs and stages together."""
    rows = await conn.fetch(
        """select customer_id, sum(cost_usd)::float8 spent from model_calls
                               where customer_id = any($1::text[])
                                 and created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'
                               group by customer_id""",
        customer_ids,
    )
    return {r["customer_id"]: r["spent"] for r in rows}


async def record_calls(
    conn: asyncpg.Connection,
    tenant_id: str,
    run_date: dt.date,
    batch_no: int,
    stage: str,
    tier: str,
    model: str,
    shares: dict[str, tuple[int, int, float]],
    *,
    cache: tuple[int, int] = (0, 0),
    batched: bool = False,
) -> None:
    """One row per customer served by a call: its share of the tokens and of the price. Once per stage. `cache`
    is the call's (written, read) prompt-cache tokens, shared like the rest."""
    n = max(len(shares), 1)
    await conn.executemany(
        """
        insert into model_calls (tenant_id, customer_id, run_date, batch_no, stage, tier, model, input_tokens,
                                 output_tokens, cost_usd, cache_write_tokens, cache_read_tokens, batched)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) on conflict do nothing""",
        [
            (
                tenant_id,
                cid,
                run_date,
                batch_no,
                stage,
                tier,
                model,
                tin,
                tout,
                cost,
                cache[0] // n,
                cache[1] // n,
                batched,
            )
            for cid, (tin, tout, cost) in shares.items()
        ],
    )


async def model_config(conn: asyncpg.Connection) -> tuple[dict[str, str], dict[str, Any], dict[str, bytes]]:
    """(role -> model spec, vendor -> base url, vendor -> encrypted key) for the transaction's tenant."""
    models = await conn.fetchval("select models from tenant_settings") or {}
    rows = await conn.fetch(
        "select kind, secret_ciphertext, config from connectors where kind = any($1::text[])", list(MODEL_VENDORS)
    )
    base_urls = {r["kind"]: r["config"].get("base_url") for r in rows if r["config"].get("base_url")}
    keys = {r["kind"]: r["secret_ciphertext"] for r in rows if r["secret_ciphertext"] is not None}
    return models, base_urls, keys
