"""Connections: the owner (migrations, tenant creation) and the application role (everything else).

Every tenant-owned query runs inside `db.tenant(tenant_id)`: one transaction, with app.tenant_id set
locally, so row-level security decides what the query can see.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

APP_ROLE = "renewals_app"


def app_dsn(owner_dsn: str, password: str) -> str:
    """The same server and database as the owner's DSN, as the application role."""
    parts = urlsplit(owner_dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{APP_ROLE}:{quote(password, safe='')}@{host}"))


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=60
    )
    assert pool is not None
    return pool


class Database:
    """The application's handle on Postgres, always as the RLS-bound role."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, max_size: int = 10) -> Database:
        return cls(await create_pool(dsn, max_size=max_size))

    @asynccontextmanager
    async def tenant(self, tenant_id: str) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("select set_config('app.tenant_id', $1, true)", tenant_id)
            yield conn

    async def active_tenants(self) -> list[str]:
        return [r[0] for r in await self.pool.fetch("select * from app_active_tenants()")]

    async def deactivated_tenants(self) -> list[str]:
        """Tenants this database knows and has switched off (not those it has never heard of)."""
        return [r[0] for r in await self.pool.fetch("select * from app_deactivated_tenants()")]

    async def close(self) -> None:
        await self.pool.close()
