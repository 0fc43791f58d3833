"""Tenants, their settings, connectors and API tokens. All SQL for these lives here."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import asyncpg

from schemas.evidence import FACTORS, Factor


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_tenant(owner: asyncpg.Connection, tenant_id: str, name: str, timezone: str = "UTC") -> None:
    """As the owner: tenants are created by an administrator, not through RLS."""
    async with owner.transaction():
        await owner.execute(
            "insert into tenants (id, name, timezone) values ($1, $2, $3) on conflict (id) do nothing",
            tenant_id,
            name,
            timezone,
        )
        await owner.execute("insert into tenant_settings (tenant_id) values ($1) on conflict do nothing", tenant_id)


async def create_token(
    conn: asyncpg.Connection, tenant_id: str, role: str, name: str, expires_in_days: int | None = None
) -> str:
    token = f"rm_{tenant_id}_{secrets.token_urlsafe(24)}"
    await conn.execute(
        """insert into api_tokens (token_hash, tenant_id, role, name, expires_at)
                          values ($1, $2, $3, $4, now() + make_interval(days => $5))""",
        hash_token(token),
        tenant_id,
        role,
        name,
        expires_in_days,
    )
    return token


async def lookup_token(pool: asyncpg.Pool | asyncpg.Connection, token: str) -> asyncpg.Record | None:
    return await pool.fetchrow("select * from app_token_lookup($1)", hash_token(token))


async def get_settings(conn: asyncpg.Connection, tenant_id: str) -> asyncpg.Record:
    row = await conn.fetchrow("select * from tenant_settings where tenant_id = $1", tenant_id)
    if row is None:
        raise LookupError(f"tenant {tenant_id} has no settings row")
    return row


def weights_of(settings: asyncpg.Record) -> dict[Factor, float]:
    return {f: float(settings[f"w_{f}"]) for f in FACTORS}


async def put_connector(
    conn: asyncpg.Connection, tenant_id: str, kind: str, secret: bytes | None, config: dict[str, Any]
) -> None:
    await conn.execute(
        """
        insert into connectors (tenant_id, kind, secret_ciphertext, config, status, last_error)
        values ($1, $2, $3, $4, 'connected', null)
        on conflict (tenant_id, kind) do update
           set secret_ciphertext = excluded.secret_ciphertext, config = excluded.config,
               status = 'connected', state = 'connected', state_since = now(), last_error = null,
               updated_at = now()""",
        tenant_id,
        kind,
        secret,
        config,
    )


async def get_connector(conn: asyncpg.Connection, tenant_id: str, kind: str) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from connectors where tenant_id = $1 and kind = $2", tenant_id, kind)


async def connector_error(conn: asyncpg.Connection, tenant_id: str, kind: str, error: str | None) -> None:
    """A failure that holds (or a success, with error None): the connector's state follows it."""
    await connector_state(conn, tenant_id, kind, "connected" if error is None else "error", error)


async def connector_state(conn: asyncpg.Connection, tenant_id: str, kind: str, state: str, error: str | None) -> None:
    """What the last attempt saw (connectors.errors.connector_state names it). `state_since` moves only when the
    state changes, so an outage reads "unreachable since" its first failed attempt."""
    await conn.execute(
        """update connectors set status = case when $3::text = 'connected' then 'connected' else 'error' end,
                                 state_since = case when state = $3::text then state_since else now() end,
                                 state = $3::text, last_error = $4, updated_at = now()
                           where tenant_id = $1 and kind = $2""",
        tenant_id,
        kind,
        state,
        error,
    )


async def connector_reached(conn: asyncpg.Connection, tenant_id: str, kind: str) -> None:
    """A call to the vendor succeeded: a connector shown failing is connected again; one already connected keeps
    its note (e.g. malformed records the customer sync skipped)."""
    await conn.execute(
        """update connectors set status = 'connected', state = 'connected', state_since = now(), last_error = null,
                                 updated_at = now()
                           where tenant_id = $1 and kind = $2 and state <> 'connected'""",
        tenant_id,
        kind,
    )


async def audit(
    conn: asyncpg.Connection,
    tenant_id: str,
    actor: str,
    action: str,
    subject: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "insert into audit_log (tenant_id, actor, action, subject, detail) values ($1, $2, $3, $4, $5)",
        tenant_id,
        actor,
        action,
        subject,
        detail or {},
    )


async def connector_error_detail(conn: asyncpg.Connection, reference: str) -> asyncpg.Record | None:
    """The transaction's tenant's kept connector error (activities/scan.py writes it to the audit log)."""
    return await conn.fetchrow(
        "select at, detail from audit_log where action = 'connector.error' and subject = $1 order by id limit 1",
        reference,
    )


async def list_connectors(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The transaction's tenant's connectors, without their secrets."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "select kind, status, state, state_since, last_error, config, updated_at, secret_ciphertext is not null "
        "as has_secret from connectors order by kind"
    )
    return rows


async def list_tokens(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The transaction's tenant's tokens: names and dates only (the hashes stay in the database)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "select name, role, created_at, expires_at, revoked_at from api_tokens order by created_at"
    )
    return rows


async def active_token_named(conn: asyncpg.Connection, name: str) -> bool:
    return bool(
        await conn.fetchval(
            """select exists (select 1 from api_tokens where name = $1 and revoked_at is null
                                       and (expires_at is null or expires_at > now()))""",
            name,
        )
    )


async def revoke_token(conn: asyncpg.Connection, name: str) -> int:
    """Revoke every active token of that name in the transaction's tenant; how many were revoked."""
    done = await conn.execute("update api_tokens set revoked_at = now() where name = $1 and revoked_at is null", name)
    return int(done.rsplit(" ", 1)[-1])


async def is_active(conn: asyncpg.Connection, tenant_id: str) -> bool:
    return bool(await conn.fetchval("select active from tenants where id = $1", tenant_id))


async def timezone(conn: asyncpg.Connection, tenant_id: str) -> str | None:
    """The tenant's IANA time zone; None for an unknown tenant."""
    value: str | None = await conn.fetchval("select timezone from tenants where id = $1", tenant_id)
    return value


async def exists(conn: asyncpg.Connection, tenant_id: str) -> bool:
    return bool(await conn.fetchval("select exists (select 1 from tenants where id = $1)", tenant_id))
