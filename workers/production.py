"""Production's checklist, enforced where a process starts (RENEWALS_ENVIRONMENT=production):

- no embedded PostgreSQL: DATABASE_URL must be set;
- migrations only through `renewals migrate`: an API or worker never migrates, and refuses a schema older than its
  code;
- the API and the workers connect as renewals_app only (their DATABASE_URL needs the host and database, not the
  owner's credentials), and renewals_app must not be able to step around row-level security.
"""

from __future__ import annotations

import asyncpg

from db import schema
from db.migrate import migration_files
from db.pool import APP_ROLE, app_dsn
from schemas.settings import Settings


class NotReady(RuntimeError):
    """The process refuses to start; the message says what to do."""


def production(settings: Settings) -> bool:
    return settings.environment == "production"


def require_database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise NotReady(
            "RENEWALS_ENVIRONMENT=production needs DATABASE_URL: there is no embedded PostgreSQL in production "
            "(point it at your server; the API and workers use only its host and database)"
        )
    return settings.database_url


async def check_app_database(settings: Settings) -> str:
    """Connect as renewals_app and check what a production API or worker needs; return the app's DSN."""
    dsn = app_dsn(require_database_url(settings), settings.app_db_password)
    try:
        conn = await asyncpg.connect(dsn, timeout=settings.db_acquire_timeout * 2)
    except (OSError, asyncpg.PostgresError) as e:
        raise NotReady(f"cannot connect to PostgreSQL as {APP_ROLE}: {e}") from e
    try:
        me = await schema.role(conn)
        if me["name"] != APP_ROLE or me["superuser"] or me["bypass_rls"]:
            raise NotReady(
                f"connected as {me['name']} (superuser {me['superuser']}, bypasses RLS {me['bypass_rls']}): the API "
                f"and workers must run as {APP_ROLE}, which row-level security holds to one tenant"
            )
        applied = await schema.applied_versions(conn)
    finally:
        await conn.close()
    missing = [v for v, _ in migration_files() if applied is None or v not in applied]
    if missing:
        raise NotReady(
            f"the database lacks migration(s) {', '.join(missing)}: run `renewals migrate` (as the owner) before "
            "starting the API or workers; in production they never migrate"
        )
    return dsn
