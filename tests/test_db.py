"""The database itself: migrations, row-level security for the application's role, append-only tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import asyncpg
import pytest

import db as db_package
from db import model_batches, tenants
from db.migrate import migrate
from db.pool import Database, app_dsn
from tests.conftest import APP_PASSWORD, create_tenant

RUN = dt.date(2026, 11, 22)
# Never the real Stripe: a connector in a test always points at loopback, here at a port nobody serves.
CLOSED_PORT = "http://127.0.0.1:9"


async def test_migrations_are_idempotent(owner_dsn: str) -> None:
    assert await migrate(owner_dsn, APP_PASSWORD) == []


async def test_the_application_role_is_bound_by_rls(db: Database) -> None:
    async with db.pool.acquire() as conn:
        role = await conn.fetchrow("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
    assert (role["rolsuper"], role["rolbypassrls"]) == (False, False)


async def test_a_tenant_cannot_see_or_write_another_tenants_rows(
    owner: asyncpg.Connection, db: Database, secret_key: str
) -> None:
    a = await create_tenant(owner, db, secret_key, stripe_key="rk_a", stripe_base=CLOSED_PORT)
    b = await create_tenant(owner, db, secret_key, stripe_key="rk_b", stripe_base=CLOSED_PORT)
    async with db.tenant(a) as conn:
        await tenants.audit(conn, a, "test", "probe", "x")
        assert await conn.fetchval("select count(*) from connectors") == 1
        assert await conn.fetchval("select count(*) from tenants") == 1
    async with db.tenant(b) as conn:
        assert await conn.fetchval("select count(*) from audit_log where tenant_id = $1", a) == 0
        assert await conn.fetchval("select count(*) from connectors where tenant_id = $1", a) == 0
        assert await conn.fetchval("select count(*) from tenants where id = $1", a) == 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # WITH CHECK: no writing into another tenant
        async with db.tenant(b) as conn:
            await tenants.audit(conn, a, "test", "forged", "x")
    async with db.pool.acquire() as conn:  # no tenant set at all: nothing visible
        assert await conn.fetchval("select count(*) from connectors") == 0


@pytest.mark.parametrize(
    "statement",
    [
        "update diary_entries set paragraph = 'rewritten'",
        "delete from diary_entries",
        "update audit_log set actor = 'x'",
        "delete from audit_log",
    ],
)
async def test_diary_and_audit_refuse_change_even_for_the_owner(
    owner: asyncpg.Connection, db: Database, secret_key: str, statement: str
) -> None:
    t = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(t) as conn:
        await conn.execute(
            "insert into diary_entries (tenant_id, customer_id, run_date, paragraph, cited_source_ids)"
            " values ($1, 'cus_1', $2, 'first', '{}')",
            t,
            RUN,
        )
        await tenants.audit(conn, t, "test", "probe", "x")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await owner.execute(statement + " where tenant_id = $1", t)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.tenant(t) as conn:
            await conn.execute(statement + " where tenant_id = $1", t)


async def test_weights_that_do_not_sum_to_one_are_refused_by_the_database(
    owner: asyncpg.Connection, db: Database, secret_key: str
) -> None:
    t = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    with pytest.raises(asyncpg.CheckViolationError, match="weights_sum_to_one"):
        async with db.tenant(t) as conn:
            await conn.execute("update tenant_settings set w_payment_history = 0.9 where tenant_id = $1", t)


async def test_tokens_are_stored_hashed_and_resolve_to_their_tenant(
    owner: asyncpg.Connection, db: Database, secret_key: str
) -> None:
    t = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(t) as conn:
        token = await tenants.create_token(conn, t, "operator", "ops")
        assert await conn.fetchval("select count(*) from api_tokens where token_hash = $1", token) == 0
    found = await tenants.lookup_token(db.pool, token)
    assert (found["tenant_id"], found["role"]) == (t, "operator")
    assert await tenants.lookup_token(db.pool, token + "x") is None


async def test_a_connection_goes_back_to_the_pool_without_a_tenant_or_an_open_transaction(owner_dsn: str) -> None:
    """The pool's reset is only a ROLLBACK (asyncpg's full reset costs a round trip per request): a transaction a
    failure left open, and the tenant it set, must not reach the next borrower."""
    db = await Database.connect(app_dsn(owner_dsn, APP_PASSWORD), max_size=1)
    try:
        async with db.connection() as conn:
            await conn.execute("begin")
            await conn.execute("select set_config('app.tenant_id', 'leaked', true)")
        async with db.connection() as conn:
            assert not conn.is_in_transaction()
            assert (await conn.fetchval("select current_setting('app.tenant_id', true)") or "") == ""
    finally:
        await db.close()


async def test_usage_driver_text_stored_before_the_fix_is_replaced_by_a_reference(
    owner: asyncpg.Connection, db: Database, secret_key: str
) -> None:
    """Issue 13 item 1's leftovers: texts written before the fix quoted the product database (another tenant's data
    in a cast error). Migration 0037 moves those words to the audit log under a reference and shows the fixed
    message wherever they were shown; everything else stays as it was."""
    tid = await create_tenant(owner, db, secret_key, stripe_key="rk_s", stripe_base=CLOSED_PORT)
    leaked = 'connector usage: the usage query failed: invalid input syntax for type integer: "Globex merger"'
    other = "stripe: customer cus_1 invoice in_1: created is not a date"
    await owner.execute(
        "insert into connectors (tenant_id, kind, status, last_error) values ($1, 'usage', 'error', $2)", tid, leaked
    )
    await owner.execute(
        "insert into evidence (tenant_id, customer_id, run_date, source, error) values ($1, 'c1', $2, 'usage', $3)",
        tid,
        RUN,
        leaked,
    )
    await owner.execute(
        "insert into scan_runs (tenant_id, run_date, status, summary, error) values ($1, $2, 'failed', $3, $4)",
        tid,
        RUN,
        json.dumps({"gather_errors": [other, f"usage: {leaked}"], "due": 3}),
        leaked,
    )
    scrub = (Path(db_package.__file__).parent / "migrations" / "0037_scrub_usage_driver_text.sql").read_text()
    async with owner.transaction():  # as `migrate` runs it
        await owner.execute(scrub)

    async with db.tenant(tid) as conn:
        shown = [
            await conn.fetchval("select last_error from connectors where kind = 'usage'"),
            await conn.fetchval("select error from evidence where source = 'usage'"),
            await conn.fetchval("select error from scan_runs"),
        ]
        summary = await conn.fetchval("select summary from scan_runs")
        reference = shown[0].split("reference ", 1)[1].split(";", 1)[0]
        kept = await tenants.connector_error_detail(conn, reference)
    assert all("Globex" not in s for s in [*shown, json.dumps(summary)]), (shown, summary)
    fixed = (
        f"connector usage: the usage query failed (reference {reference}; an admin can read the database's own "
        f"message with GET /v1/connectors/errors/{reference})"
    )
    assert shown == [fixed] * 3
    assert summary == {"gather_errors": [other, f"usage: {fixed}"], "due": 3}
    assert kept is not None and kept["detail"] == {
        "kind": "usage",
        "error": 'invalid input syntax for type integer: "Globex merger"',
    }
    async with owner.transaction():  # nothing left to scrub: a second run changes nothing
        await owner.execute(scrub)
    async with db.tenant(tid) as conn:
        assert await conn.fetchval("select last_error from connectors where kind = 'usage'") == fixed
        assert await conn.fetchval("select count(*) from audit_log where action = 'connector.error'") == 1


async def test_the_inbox_reads_its_alerts_in_one_query_as_the_three_reads_did(
    owner: asyncpg.Connection, db: Database, secret_key: str
) -> None:
    from api import alerts as api_alerts
    from db import alerts, drafts, runs
    from tests import factories

    tid = await create_tenant(owner, db, secret_key, stripe_key="rk_alerts", stripe_base=CLOSED_PORT)
    async with db.tenant(tid) as conn:  # nothing yet: no verdicts, no run, no alert
        empty = await api_alerts.read(conn)
    assert (empty.validation_failure_rate, empty.route_mix, empty.route_mix_run, empty.banners) == (0.0, {}, None, {})
    await factories.verdicts(db, tid, 9, demoted=False)
    await factories.verdicts(db, tid, 3, demoted=True, start=100)
    for day in (RUN - dt.timedelta(days=1), RUN):
        await factories.completed_run(db, tid, day, {"TIER1": 1})
    async with db.tenant(tid) as conn:
        await conn.execute(
            "update scan_runs set summary = $2 where run_date = $1",
            RUN,
            {"route_mix": {"TIER1": 1.0}, "route_mix_drift": ["TIER1"]},
        )
        for kind in (alerts.VALIDATION_FAILURE_RATE, alerts.ROUTE_MIX_DRIFT):
            assert await alerts.crossed(conn, tid, kind, True, f"{kind} is on")
        reading = await api_alerts.read(conn)
        # The three reads it replaced, each on its own, agree with it.
        assert reading.validation_failure_rate == await drafts.validation_failure_rate(conn) == 0.25
        assert (reading.route_mix_run, reading.route_mix) == (
            RUN.isoformat(),
            (await runs.latest_completed(conn))[1]["route_mix"],
        )
        assert list(reading.banners.items()) == list((await alerts.active(conn)).items())
        assert list(reading.banners) == ["validation_failure_rate", "route_mix_drift"]  # the banner's order
        assert reading.route_mix_drift == ["TIER1"]


async def test_the_first_intent_to_submit_a_model_batch_holds(
    owner: asyncpg.Connection, db: Database, secret_key: str
) -> None:
    """A retried submission (the worker crashed after recording its intent) gets back the first attempt's intent,
    with the vendor batch ID it saved, never its own new one: that is how no second batch is submitted."""
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:
        first = await model_batches.intend(conn, tid, RUN, 3, "worker", "m", {"key": "first"})
        await model_batches.submitted(conn, tid, RUN, 3, "worker", "batch_1")
        again = await model_batches.intend(conn, tid, RUN, 3, "worker", "m", {"key": "second"})
        other = await model_batches.intend(conn, tid, RUN, 4, "worker", "m", {"key": "other"})
    assert first == {"key": "first"}
    assert again == {"key": "first", "id": "batch_1", "guessed": False}
    assert other == {"key": "other"}
