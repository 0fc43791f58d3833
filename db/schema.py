"""What the application role may learn of the database it runs on: the schema's version and its own powers."""

from __future__ import annotations

import asyncpg


async def applied_versions(conn: asyncpg.Connection) -> set[str] | None:
    """The migrations applied; None when the role may not read them (a schema from before 0030)."""
    try:
        return {r[0] for r in await conn.fetch("select version from schema_migrations")}
    except (asyncpg.InsufficientPrivilegeError, asyncpg.UndefinedTableError):
        return None


async def role(conn: asyncpg.Connection) -> asyncpg.Record:
    """The connected role and whether it could step around row-level security."""
    row = await conn.fetchrow(
        "select current_user as name, rolsuper as superuser, rolbypassrls as bypass_rls"
        " from pg_roles where rolname = current_user"
    )
    assert row is not None  # the connected role exists
    return row
