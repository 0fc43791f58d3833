"""Writing a tenant's settings (reading them is `tenants.get_settings`). All SQL for it lives here."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from schemas.evidence import FACTORS, Factor
from schemas.offers import EmailSettings
from schemas.verdict import Route


async def update(
    conn: asyncpg.Connection,
    tenant_id: str,
    weights: Mapping[Factor, float],
    *,
    auto_send: Mapping[Route, bool],
    window_min_days: int,
    window_max_days: int,
    daily_cost_cap_usd: float,
    digest_recipients: list[str],
    slack_channel: str,
    models: Mapping[str, str],
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
    value: str | None = await conn.fetchval("select oncall_webhook from tenant_settings")
    return value


async def email_settings(conn: asyncpg.Connection) -> EmailSettings:
    """The transaction's tenant's sender, reply-to, signature and offers."""
    row = await conn.fetchrow("select sender_name, reply_to, signature, offers from tenant_settings")
    if row is None:
        return EmailSettings()
    return EmailSettings(
        sender_name=row["sender_name"], reply_to=row["reply_to"], signature=row["signature"], offers=row["offers"]
    )


async def update_email(conn: asyncpg.Connection, tenant_id: str, email: EmailSettings) -> None:
    await conn.execute(
        """update tenant_settings set sender_name = $2, reply_to = $3, signature = $4, offers = $5, updated_at = now()
            where tenant_id = $1""",
        tenant_id,
        email.sender_name,
        email.reply_to,
        email.signature,
        [o.model_dump() for o in email.offers],
    )


async def slack_channel(conn: asyncpg.Connection) -> str:
    """The transaction's tenant's report channel."""
    return str(await conn.fetchval("select slack_channel from tenant_settings"))


async def digest_recipients(conn: asyncpg.Connection) -> list[str]:
    """Who the transaction's tenant mails the weekly digest to."""
    return list(await conn.fetchval("select digest_recipients from tenant_settings") or [])
