"""Connections: the owner (migrations, tenant creation) and the application role (everything else).

Every tenant-owned query runs inside `db.tenant(tenant_id)`: one transaction, with app.tenant_id set
locally, so row-level security decides what the query can see.

Every wait on the server is bounded: taking a connection (which may mean opening one) by `acquire_timeout`,
every statement by `command_timeout`. A stopped or hung PostgreSQL then surfaces as a TimeoutError or an
OSError within seconds (the API answers 503), instead of a request that waits forever.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

APP_ROLE = "renewals_app"
ACQUIRE_TIMEOUT = 5.0  # seconds to take a pooled connection, opening it included
COMMAND_TIMEOUT = 60.0  # seconds per statement; the API passes less (RENEWALS_DB_COMMAND_TIMEOUT)
SERVER_GONE = (TimeoutError, OSError, asyncpg.InterfaceError)


def app_dsn(owner_dsn: str, password: str) -> str:
    """The same server and database as the owner's DSN, as the application role."""
    parts = urlsplit(owner_dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{APP_ROLE}:{quote(password, safe='')}@{host}"))


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _reset(conn: asyncpg.Connection) -> None:
    """Nothing beyond what asyncpg always does with a custom reset (roll back an open transaction). Its default
    also sends UNLISTEN, RESET ALL, CLOSE ALL and pg_advisory_unlock_all(): one more round trip on every release,
    i.e. on every API request, for state this application never leaves on a session (app.tenant_id is set
    transaction-locally, nothing LISTENs, the only advisory lock is the migrator's, on its own connection)."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    acquire_timeout: float = ACQUIRE_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_reset,
        command_timeout=command_timeout,
        timeout=acquire_timeout,  # connect timeout, for connections the pool opens later too
    )
    assert pool is not None
    return pool


class Database:
    """The application's handle on Postgres, always as the RLS-bound role."""

    def __init__(self, pool: asyncpg.Pool, *, dsn: str | None = None, acquire_timeout: float = ACQUIRE_TIMEOUT) -> None:
        self.pool, self.dsn, self.acquire_timeout = pool, dsn, acquire_timeout

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        max_size: int = 10,
        acquire_timeout: float = ACQUIRE_TIMEOUT,
        command_timeout: float = COMMAND_TIMEOUT,
    ) -> Database:
        pool = await create_pool(
            dsn, max_size=max_size, acquire_timeout=acquire_timeout, command_timeout=command_timeout
        )
        return cls(pool, dsn=dsn, acquire_timeout=acquire_timeout)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection with no tenant set (token lookup, metrics: security-definer functions only)."""
        async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
            try:
                yield conn
            except SERVER_GONE:
                # The server stopped answering: resetting the connection for the pool (or a ROLLBACK) would wait a
                # whole command timeout again. Dropping it rolls back on the server's side; the pool opens another.
                conn.terminate()
                raise

    @asynccontextmanager
    async def tenant(self, tenant_id: str) -> AsyncIterator[asyncpg.Connection]:
        async with self.connection() as conn:
            tx = conn.transaction()
            try:
                await tx.start()
                await conn.execute("select set_config('app.tenant_id', $1, true)", tenant_id)
                yield conn
            except SERVER_GONE:
                raise  # no ROLLBACK: `connection` drops the connection
            except BaseException:
                if conn.is_in_transaction():
                    await tx.rollback()
                raise
            await tx.commit()

    async def active_tenants(self) -> list[str]:
        async with self.connection() as conn:
            return [r[0] for r in await conn.fetch("select * from app_active_tenants()")]

    async def active_tenants_page(self, after: str | None, limit: int) -> list[str]:
        """Active tenants in id order, the `limit` after `after` (None: from the first): the daily scan's pages."""
        async with self.connection() as conn:
            rows = await conn.fetch(
                "select t from app_active_tenants() t where $1::text is null or t > $1 order by t limit $2",
                after,
                limit,
            )
        return [r[0] for r in rows]

    async def deactivated_tenants(self) -> list[str]:
        """Tenants this database knows and has switched off (not those it has never heard of)."""
        return [r[0] for r in await self.pool.fetch("select * from app_deactivated_tenants()")]

    async def close(self) -> None:
        await self.pool.close()
