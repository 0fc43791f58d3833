"""Approving from Slack: the signing secret and the Slack user → operator mapping. All SQL for it lives here."""

from __future__ import annotations

import datetime as dt

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


# ---- the per-draft review message ------------------------------------------------------------------------------

REVIEW_LEASE = dt.timedelta(
    minutes=2
)  # a claim older than this was abandoned (a crashed attempt): the next one takes over


async def put_review_channel(
    conn: asyncpg.Connection, tenant_id: str, channel: str | None, inbox_base_url: str | None
) -> None:
    await conn.execute(
        """insert into slack_approvals (tenant_id, review_channel, inbox_base_url) values ($1, $2, $3)
           on conflict (tenant_id) do update set review_channel = excluded.review_channel,
                                                 inbox_base_url = excluded.inbox_base_url, updated_at = now()""",
        tenant_id,
        channel,
        inbox_base_url,
    )


async def review_channel(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The transaction's tenant's review channel and inbox address; None while review messages are off."""
    return await conn.fetchrow(
        "select review_channel, inbox_base_url from slack_approvals where review_channel is not null"
    )


async def review_post(conn: asyncpg.Connection, draft_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from draft_review_posts where draft_id = $1", draft_id)


async def claim_review_post(conn: asyncpg.Connection, tenant_id: str, draft_id: str) -> asyncpg.Record | None:
    """Take the draft's one post: the row (with its claim time) when this attempt may post, None while another
    attempt holds a claim younger than REVIEW_LEASE or the message is already posted. `first` says no attempt
    came before (so no earlier post can be in the channel)."""
    return await conn.fetchrow(
        """
        insert into draft_review_posts as p (tenant_id, draft_id) values ($1, $2)
        on conflict (tenant_id, draft_id) do update set claimed_at = clock_timestamp()
         where p.ts is null and p.claimed_at < now() - $3::interval
        returning *, xmax = 0 as first""",
        tenant_id,
        draft_id,
        REVIEW_LEASE,
    )


async def review_posted(conn: asyncpg.Connection, draft_id: str, channel_id: str, ts: str, shown: str) -> None:
    await conn.execute(
        """update draft_review_posts set channel_id = $2, ts = coalesce(ts, $3), shown = $4, updated_at = now()
            where draft_id = $1""",
        draft_id,
        channel_id,
        ts,
        shown,
    )


async def review_shown(conn: asyncpg.Connection, draft_id: str, shown: str) -> None:
    await conn.execute(
        "update draft_review_posts set shown = $2, updated_at = now() where draft_id = $1", draft_id, shown
    )
