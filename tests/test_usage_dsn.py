"""Issue 13 item 1: a tenant admin read another tenant's draft subjects by pointing the usage DSN at the product's
own PostgreSQL with a query casting them to int, and reading the error text in GET /v1/connectors and /v1/scans.
Reproduced here against the real stack: the test's own PostgreSQL, the real API over HTTP, a real scan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from api.scans import start_scan
from connectors.dsn import DsnRefused, check_dsn, server_identity
from connectors.usage import UsageSource
from core.secrets import encrypt
from db import tenants
from db.pool import Database
from schemas.workflow_io import TenantScanResult
from tests import factories
from tests.conftest import AS_OF, create_tenant, manifest_key

pytestmark = pytest.mark.usefixtures("workers")
SECRET = "Globex merger: do not renew"
COLUMNS = (
    "$2::date as date, 1 as active_users, 1 as logins, 1 as messages_sent, 1 as agents_run, 1 as jobs_executed, "
    "0 as error_count, 1.0 as p95_latency_ms, 1 as licensed_seats"
)
ATTACK = f"select subject::int::text as customer_id, {COLUMNS} from drafts where tenant_id <> all($1::text[])"


async def scan(client: Client, tenant: str) -> TenantScanResult:
    wid = await start_scan(client, tenant, AS_OF)
    return await client.get_workflow_handle(wid, result_type=TenantScanResult).result()


async def victim_with_a_secret(owner: asyncpg.Connection, db: Database, secret_key: str) -> str:
    victim = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    await factories.draft(db, victim)
    await owner.execute("update drafts set subject = $2 where tenant_id = $1", victim, SECRET)
    return victim


async def test_a_dsn_at_the_products_own_server_is_refused_and_nothing_leaks(
    owner: asyncpg.Connection,
    owner_dsn: str,
    db: Database,
    secret_key: str,
    api_url: str,
    client: Client,
    sandbox: object,
    workspace: Path,
    tmp_path: Path,
) -> None:
    await victim_with_a_secret(owner, db, secret_key)
    attacker = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )  # type: ignore[attr-defined]
    admin = {"Authorization": f"Bearer {await factories.token(db, attacker, 'admin')}"}
    operator = {"Authorization": f"Bearer {await factories.token(db, attacker)}"}
    socket_dir = dict(p.split("=", 1) for p in urlsplit(owner_dsn).query.split("&"))["host"]
    alias = tmp_path / "sock"
    alias.symlink_to(socket_dir)
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        for dsn in (
            owner_dsn,  # the owner's DSN, as the run used: the socket of the product's server
            f"postgresql://postgres@/postgres?host={alias}",  # the same directory under another name
            f"postgresql://reader@/postgres?host={socket_dir}&port=5432",
        ):
            r = await http.put("/v1/connectors/usage", json={"key": dsn, "query": ATTACK}, headers=admin)
            assert r.status_code == 422 and "product's own PostgreSQL" in r.json()["detail"], (dsn, r.text)
        smuggled = "postgresql://r@127.0.0.1:9/p?options=-c%20default_transaction_read_only%3Doff"
        r = await http.put("/v1/connectors/usage", json={"key": smuggled, "query": ATTACK}, headers=admin)
        assert r.status_code == 422 and "may not set options" in r.json()["detail"], r.text

        # A DSN stored before this check (or through a name that resolves elsewhere at connect time): the worker
        # checks again before it connects, and the scan shows a fixed message, never the server's words.
        async with db.tenant(attacker) as conn:
            await tenants.put_connector(conn, attacker, "usage", encrypt(secret_key, owner_dsn), {"query": ATTACK})
        result = await scan(client, attacker)
        assert result.due > 0
        connectors = (await http.get("/v1/connectors", headers=admin)).text
        scans = (await http.get("/v1/scans", headers=operator)).text
        audit = (await http.get("/v1/audit", headers=admin)).text
    for shown in (connectors, scans, audit):
        assert SECRET not in shown and "invalid input syntax" not in shown
    usage = next(c for c in httpx.Response(200, text=connectors).json() if c["kind"] == "usage")
    assert usage["status"] == "error" and "product's own PostgreSQL" in usage["last_error"], usage


async def test_the_server_is_recognised_by_what_it_says_of_itself(owner_dsn: str, db: Database) -> None:
    """An alias the DSN check cannot see through (a TCP proxy, a DNS name changed later) still reaches a server
    that describes itself as the product's own: the worker compares identities before running the query."""
    async with db.connection() as conn:
        own = await server_identity(conn)
    with pytest.raises(ApplicationError, match="product's own PostgreSQL") as refused:
        await UsageSource(owner_dsn, ATTACK, own_identity=own).fetch(["x"], AS_OF)  # own_dsn unknown: no static check
    assert refused.value.type == "ConnectorMisconfigured" and refused.value.non_retryable


def test_production_allows_only_listed_hosts_and_no_sockets() -> None:
    hosts = ["db.example.net"]
    check_dsn("postgresql://r:pw@replica.db.example.net:5432/product", None, hosts)
    for dsn, why in (
        ("postgresql://r:pw@10.0.0.5:5432/product", "not on the allow-list"),
        ("postgresql://r:pw@db.example.net.evil.example/product", "not on the allow-list"),
        ("postgresql://r:pw@/product?host=/var/run/postgresql", "unix socket"),
        ("postgresql://r:pw@db.example.net/product?app.tenant_id=other", "may not set app.tenant_id"),
    ):
        with pytest.raises(DsnRefused, match=why):
            check_dsn(dsn, None, hosts)


async def test_driver_text_is_kept_for_admins_under_a_reference(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    api_url: str,
    client: Client,
    sandbox: object,
    workspace: Path,
    product_pg: str,
) -> None:
    from sandbox.product_db import load_usage

    product = await load_usage(product_pg, workspace, "product_dsn_test")
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )  # type: ignore[attr-defined]
    query = f"select '{SECRET}'::int::text as customer_id, {COLUMNS} from unnest($1::text[])"
    async with db.tenant(tid) as conn:
        await tenants.put_connector(conn, tid, "usage", encrypt(secret_key, product), {"query": query})
    await scan(client, tid)
    admin = {"Authorization": f"Bearer {await factories.token(db, tid, 'admin')}"}
    operator = {"Authorization": f"Bearer {await factories.token(db, tid)}"}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        usage = next(c for c in (await http.get("/v1/connectors", headers=admin)).json() if c["kind"] == "usage")
        scans = (await http.get("/v1/scans", headers=operator)).text
        assert SECRET not in usage["last_error"] and SECRET not in scans
        reference = usage["last_error"].split("reference ", 1)[1].split(";", 1)[0]
        assert usage["last_error"].startswith("connector usage: the usage query failed (reference usage-"), usage
        kept = await http.get(f"/v1/connectors/errors/{reference}", headers=admin)
        assert kept.status_code == 200 and f'invalid input syntax for type integer: "{SECRET}"' in kept.json()["error"]
        assert (await http.get(f"/v1/connectors/errors/{reference}", headers=operator)).status_code == 403
        stranger = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
        other = {"Authorization": f"Bearer {await factories.token(db, stranger, 'admin')}"}
        assert (await http.get(f"/v1/connectors/errors/{reference}", headers=other)).status_code == 404


async def test_the_usage_query_runs_read_only_under_a_statement_timeout_without_the_apps_settings(
    product_pg: str, workspace: Path
) -> None:
    from sandbox.product_db import load_usage

    product = await load_usage(product_pg, workspace, "product_dsn_session")
    seen = (
        "select coalesce(current_setting('app.tenant_id', true), '') || '|' || current_setting('transaction_read_only')"
        f" || '|' || current_setting('statement_timeout') as customer_id, {COLUMNS} from unnest($1::text[])"
    )
    rows = await UsageSource(product, seen, timeout=2.0).fetch(["x"], AS_OF)
    assert list(rows) == ["|on|2s"]
    write = (
        "with gone as (delete from daily_metrics returning 1) "
        f"select 'x' as customer_id, {COLUMNS} from unnest($1::text[])"
    )
    with pytest.raises(ApplicationError, match="the usage query failed") as failed:
        await UsageSource(product, write).fetch(["x"], AS_OF)
    assert "read-only transaction" in failed.value.driver_text  # type: ignore[attr-defined]
    conn = await asyncpg.connect(product)
    try:
        assert await conn.fetchval("select count(*) from daily_metrics") > 0
    finally:
        await conn.close()
    start = dt.datetime.now(dt.UTC)
    with pytest.raises(ApplicationError, match="the usage query failed") as slow:
        await UsageSource(
            product, f"select pg_sleep(30)::text as customer_id, {COLUMNS} from unnest($1::text[])", timeout=1.0
        ).fetch(["x"], AS_OF)
    assert (dt.datetime.now(dt.UTC) - start).total_seconds() < 10
    assert "statement timeout" in slow.value.driver_text or "Timeout" in slow.value.driver_text  # type: ignore[attr-defined]
