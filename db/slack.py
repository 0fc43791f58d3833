"""Approving from Slack: the signing secret and the Slack user → operator mapping. All SQL for it lives here."""

from __future__ import annotations

import asyncpg


async def put_signing_secret(conn: asyncpg.Connection, tenant_id: str, ciphertext: bytes) -> None:
    await conn.execute(
        """insert into slack_approvals (tenant_id, signing_secret_ciphertext) values ($1, $2)
           on conflict (tenant_id) do update set signing_secret_ciphertext = excluded.signing_secret_ciphertext,
                                                 updated_at = now()""",
        tenant_id,
        ciphertext,
    )


async def signing_secret(conn: asyncpg.Connection) -> bytes | None:
    """The transaction's tenant's signing secret (ciphertext), if approvals from Slack are set up."""
    value: bytes | None = await conn.fetchval("select signing_secret_ciphertext from slack_approvals")
    return value


async def map_user(conn: asyncpg.Connection, tenant_id: str, slack_user_id: str, operator: str) -> None:
    await conn.execute(
        """insert into slack_operators (tenant_id, slack_user_id, operator) values ($1, $2, $3)
           on conflict (tenant_id, slack_user_id) do update set operator = excluded.operator""",
        tenant_id,
        slack_user_id,
        operator,
    )


async def unmap_user(conn: asyncpg.Connection, slack_user_id: str) -> bool:
    value: bool = await conn.fetchval(
        "delete from slack_operators where slack_user_id = $1 returning true", slack_user_id
    )
    return value


async def mappings(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "select slack_user_id, operator, created_at from slack_operators order by slack_user_id"
    )
    return rows


async def operator_for(conn: asyncpg.Connection, slack_user_id: str) -> str | None:
    """The operator a Slack user speaks for — only while that operator still has a live token (revoked or
    expired: refused, as the token itself would be)."""
    value: str | None = await conn.fetchval(
        """select m.operator from slack_operators m
            where m.slack_user_id = $1
              and exists (select 1 from api_tokens t where t.tenant_id = m.tenant_id and t.name = m.operator
                             and t.revoked_at is null and (t.expires_at is null or t.expires_at > now()))""",
        slack_user_id,
    )
    return value
