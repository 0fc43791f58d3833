"""Versioned migrations: numbered SQL files applied once each, in order, under an advisory lock."""

from __future__ import annotations

from importlib import resources

import asyncpg

from db.pool import APP_ROLE

LOCK_KEY = 7_428_113


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("db") / "migrations"
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(p.name.removesuffix(".sql"), p.read_text()) for p in files]


async def migrate(owner_dsn: str, app_password: str) -> list[str]:
    """Apply what is missing; return the versions applied now. Safe to run from several processes."""
    conn = await asyncpg.connect(owner_dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("select pg_advisory_lock($1)", LOCK_KEY)
        await conn.execute("""create table if not exists schema_migrations (
                                  version text primary key, applied_at timestamptz not null default now())""")
        done = {r[0] for r in await conn.fetch("select version from schema_migrations")}
        for version, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("insert into schema_migrations (version) values ($1)", version)
            applied_now.append(version)
        stmt = await conn.fetchval(
            "select format('alter role %I password %L', $1::text, $2::text)", APP_ROLE, app_password
        )
        await conn.execute(stmt)
    finally:
        await conn.execute("select pg_advisory_unlock($1)", LOCK_KEY)
        await conn.close()
    return applied_now


async def ensure_database(server_dsn: str, name: str) -> str:
    """Create database `name` on the server if missing; return its DSN."""
    from urllib.parse import urlsplit, urlunsplit

    conn = await asyncpg.connect(server_dsn)
    try:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", name):
            await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(server_dsn)
    return urlunsplit(parts._replace(path="/" + name))
