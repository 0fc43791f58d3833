"""Writing a tenant's settings (reading them is `tenants.get_settings`). All SQL for it lives here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from schemas.evidence import FACTORS


async def update(
    conn: asyncpg.Connection,
    tenant_id: str,
    weights: Mapping[str, float],
    *,
    auto_send: dict[str, bool],
    window_min_days: int,
    window_max_days: int,
    daily_cost_cap_usd: float,
    digest_recipients: list[str],
    slack_channel: str,
    models: dict[str, Any],
    oncall_webhook: str | None,
    undo_window_seconds: int = 10,
) -> None:
    """The database checks again what the API checked: the weights' sum and the window's order."""
    await conn.execute(
        """
        update tenant_settings set w_payment_history = $2, w_usage_trend = $3, w_champion_status = $4,
               w_support_sentiment = $5, auto_send = $6, window_min_days = $7, window_max_days = $8,
               daily_cost_cap_usd = $9, digest_recipients = $10, slack_channel = $11, models = $12,
               oncall_webhook = $13, undo_window_seconds = $14, updated_at = now()
         where tenant_id = $1""",
        tenant_id,
        *(weights[f] for f in FACTORS),
        auto_send,
        window_min_days,
        window_max_days,
        daily_cost_cap_usd,
        digest_recipients,
        slack_channel,
        models,
        oncall_webhook,
        undo_window_seconds,
    )


async def oncall_webhook(conn: asyncpg.Connection) -> str | None:
    """The transaction's tenant's on-call webhook, if one is set."""
    return await conn.fetchval("select oncall_webhook from tenant_settings")
