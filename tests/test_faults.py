"""A bad day in production, each break of issue 13 reproduced against the real stack (workers on the dev server,
the vendor sandbox, PostgreSQL): a malformed Stripe record, a wrong secret key, a vendor that is down, a slow
product database, Stripe failing while the other sources run, and a scan whose end could not be recorded.
(PostgreSQL stopped mid-scan has its own module, test_pg_outage.py: it needs a server of its own.)"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import ActivityEnvironment

from activities.scan import ScanActivities
from api.scans import start_scan
from bench.faults import Malformed, activity_attempts, count_events, malformed_copy
from core.secrets import encrypt, new_key
from db import tenants
from db.pool import Database
from sandbox.server import SandboxHandle
from schemas.workflow_io import ChunkRef, TenantScanInput, TenantScanResult
from tests import factories
from tests.conftest import AS_OF, create_tenant, eventually, manifest_key, record_history

pytestmark = pytest.mark.usefixtures("workers")


@pytest.fixture(scope="module")
def broken(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxHandle, Malformed]]:
    """The sandbox serving a copy of the workspace with a malformed invoice and an item-less subscription."""
    from sandbox.server import start_sandbox

    bad = malformed_copy(workspace, tmp_path_factory.mktemp("broken") / "ws", AS_OF)
    handle = start_sandbox(bad.workspace)
    yield handle, bad
    handle.stop()


async def scan(client: Client, tid: str) -> TenantScanResult:
    wid = await start_scan(client, tid, AS_OF)
    return await client.get_workflow_handle(wid, result_type=TenantScanResult).result()


async def test_a_malformed_invoice_costs_only_its_customer_and_is_named(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, broken: tuple[SandboxHandle, Malformed]
) -> None:
    sandbox, bad = broken
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    result = await scan(client, tid)
    async with db.tenant(tid) as conn:
        due = {r[0] for r in await conn.fetch("select customer_id from scan_customers where run_date = $1", AS_OF)}
        judged = {r[0] for r in await conn.fetch("select customer_id from classifications where run_date = $1", AS_OF)}
        stripe = {
            r["customer_id"]: r
            for r in await conn.fetch("select customer_id, items, error from evidence where source = 'stripe'")
        }
        run = await conn.fetchrow("select status, summary from scan_runs where run_date = $1", AS_OF)
    # every due customer judged, the broken ones included: nobody dropped from monitoring
    assert {bad.invoice_customer, bad.itemless_customer} <= due and judged == due and result.due == len(due)
    invoice_error = stripe[bad.invoice_customer]["error"]
    assert f"stripe invoice {bad.invoice_id} of {bad.invoice_customer}: created" in invoice_error
    assert [i["kind"] for i in stripe[bad.invoice_customer]["items"]] == ["subscription"]  # its invoices only
    assert (
        f"subscription {bad.subscription_id} of {bad.itemless_customer} has no items"
        in (stripe[bad.itemless_customer]["error"])
    )
    others = [r for cid, r in stripe.items() if cid not in (bad.invoice_customer, bad.itemless_customer)]
    assert not [r["error"] for r in others if r["error"]]  # a bad record costs its own customer only
    assert run["status"] == "completed"
    assert any(bad.invoice_id in e and bad.invoice_customer in e for e in run["summary"]["gather_errors"])
    # one attempt: a record that does not fit is not a reason to retry anything
    assert set(await activity_attempts(client, f"scan-chunk/{tid}/{AS_OF}/0", "gather_stripe")) == {1}


async def test_a_wrong_secret_key_fails_the_scan_at_once_saying_what_to_do(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, sandbox: SandboxHandle
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:  # stored under another key, as after RENEWALS_SECRET_KEY was changed
        await tenants.put_connector(
            conn, tid, "stripe", encrypt(new_key(), sandbox.keys["stripe"]), {"api_base": sandbox.stripe_api_base}
        )
    started = time.monotonic()
    with pytest.raises(WorkflowFailureError):
        await scan(client, tid)
    assert time.monotonic() - started < 20  # not eight attempts over two minutes
    assert await activity_attempts(client, f"tenant-scan/{tid}/{AS_OF}", "sync_customers") == [1]
    async with db.tenant(tid) as conn:
        run = await conn.fetchrow("select status, error from scan_runs where run_date = $1", AS_OF)
    assert run["status"] == "failed" and "Set RENEWALS_SECRET_KEY back to that key" in run["error"]


async def test_a_vendor_down_shows_on_the_connector_during_and_clears_after(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, sandbox: SandboxHandle, api_url: str
) -> None:
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    admin = await factories.token(db, tid, "admin")
    sandbox.add_fault("stripe", "/v1/invoices", status=503, times=None)  # down until reset
    wid = await start_scan(client, tid, AS_OF)
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {admin}"}) as h:

        async def stripe_state() -> dict[str, str]:
            r = await h.get("/v1/connectors")
            return next(c for c in r.json() if c["kind"] == "stripe")

        async def unreachable() -> dict[str, str] | None:
            c = await stripe_state()
            return c if c["state"] == "unreachable" else None

        during = await eventually(unreachable, timeout=60)
        assert during["status"] == "error" and during["summary"].startswith("unreachable since ")
        assert "unavailable (503)" in during["last_error"]
        sandbox.reset()  # the vendor is back
        await client.get_workflow_handle(wid).result()
        after = await stripe_state()
    assert (after["status"], after["state"], after["summary"], after["last_error"]) == (
        "connected",
        "connected",
        "connected",
        None,
    )


async def test_a_slow_product_database_heartbeats_and_keeps_its_usage(
    owner: asyncpg.Connection,
    product_pg: str,
    db: Database,
    secret_key: str,
    client: Client,
    sandbox: SandboxHandle,
    workspace: Path,
) -> None:
    """The usage query takes 21 s, longer than the 20 s heartbeat timeout: without heartbeats every attempt timed
    out and the usage evidence was lost after eight of them."""
    from sandbox.product_db import QUERY, load_usage

    product = await load_usage(product_pg, workspace, "product_slow")
    slow = QUERY.replace("from daily_metrics", "from daily_metrics, (select pg_sleep(21)) as slow_database")
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )
    async with db.tenant(tid) as conn:
        await tenants.put_connector(conn, tid, "usage", encrypt(secret_key, product), {"query": slow})
        # one chunk of at most one usage slice, so the test waits for one slow query
        await conn.execute("update tenant_settings set window_max_days = 40")
    result = await scan(client, tid)
    async with db.tenant(tid) as conn:
        usage = await conn.fetch("select error, items from evidence where source = 'usage' and run_date = $1", AS_OF)
        connector = await conn.fetchrow("select state, last_error from connectors where kind = 'usage'")
    assert 0 < result.due <= 50 and len(usage) == result.due
    assert not [r["error"] for r in usage if r["error"] and "no rows" not in r["error"]]
    assert sum(len(r["items"]) for r in usage) > 0
    assert tuple(connector) == ("connected", None)
    assert set(await activity_attempts(client, f"scan-chunk/{tid}/{AS_OF}/0", "gather_usage")) == {1}


async def test_a_retried_usage_gather_resumes_from_its_heartbeat(
    owner: asyncpg.Connection, product_pg: str, db: Database, secret_key: str, client: Client, sandbox: SandboxHandle
) -> None:
    """An attempt that heartbeated "30 customers done" is resumed by the next one from the 31st: the first 30 are
    not read again."""
    from sandbox.product_db import QUERY, load_usage

    product = await load_usage(product_pg, sandbox.workspace, "product_resume")
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    async with db.tenant(tid) as conn:
        await tenants.put_connector(conn, tid, "usage", encrypt(secret_key, product), {"query": QUERY})
    acts = ScanActivities(db, client, secret_key, usage_slice=10)
    inp = TenantScanInput(tenant_id=tid, run_date=AS_OF)
    await ActivityEnvironment().run(acts.sync_customers, inp)
    plan = await ActivityEnvironment().run(acts.select_due, inp)
    ref = ChunkRef(tenant_id=tid, run_date=AS_OF, chunk_no=plan.chunks[0])
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_details=[30, 0], attempt=2)
    beats: list[tuple[int, int]] = []
    env.on_heartbeat = lambda *d: beats.append(tuple(d))  # type: ignore[assignment, arg-type]
    result = await env.run(acts.gather_usage, ref)
    async with db.tenant(tid) as conn:
        ids = [
            r[0]
            for r in await conn.fetch(
                "select customer_id from scan_customers where run_date = $1 and chunk_no = $2", AS_OF, ref.chunk_no
            )
        ]
        written = {r[0] for r in await conn.fetch("select customer_id from evidence where source = 'usage'")}
    assert plan.due > 30 and result.customers == len(ids)
    assert len(written) == len(ids) - 30  # the 30 the earlier attempt did are not read again
    assert beats and beats[-1][0] == len(ids)  # the progress a further retry would resume from


async def test_stripe_failing_for_good_stops_the_scan_before_any_other_source_is_read(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, sandbox: SandboxHandle
) -> None:
    """A revoked key fails the tenant-wide invoice read (sync_invoices) at once: no chunk starts, so Slack's slow
    reads are not spent on a scan that cannot finish. (A chunk whose own Stripe read fails, as a briefing's does,
    cancels the other sources: the recorded scan_chunk_stripe_failed_sources_cancelled history replays it.)"""
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    async with db.tenant(tid) as conn:  # Slack reads under one request a second: a chunk takes about a minute
        await tenants.put_connector(
            conn, tid, "slack", encrypt(secret_key, sandbox.keys["slack"]), {"api_base": sandbox.slack_base_url}
        )
    sandbox.add_fault("stripe", "/v1/invoices", status=401, times=None)  # a revoked key: fails for good at once
    slack_before = sum(sandbox.request_counts("slack").values())
    try:
        started = time.monotonic()
        with pytest.raises(WorkflowFailureError):
            await scan(client, tid)
        slack_after = sum(sandbox.request_counts("slack").values())
    finally:
        sandbox.reset()
    assert time.monotonic() - started < 30
    assert await activity_attempts(client, f"tenant-scan/{tid}/{AS_OF}", "sync_invoices") == [1]
    assert slack_after == slack_before


async def test_a_scan_that_could_not_record_its_end_is_reported_as_temporal_saw_it(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, sandbox: SandboxHandle, api_url: str
) -> None:
    """The stored row says running (its last write failed); GET /v1/scans answers what Temporal knows, and writes
    nothing."""
    done = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    result = await scan(client, done)
    stopped = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    handle = client.get_workflow_handle(await start_scan(client, stopped, AS_OF))

    async def begun() -> bool:
        async with db.tenant(stopped) as conn:
            return bool(await conn.fetchval("select count(*) from scan_runs"))

    await eventually(begun)
    await handle.terminate("an operator stopped it")
    for tid in (done, stopped):  # as if the end could not be written
        await owner.execute(
            "update scan_runs set status = 'running', finished_at = null, summary = '{}' where tenant_id = $1", tid
        )
    seen = {}
    for tid in (done, stopped):
        token = await factories.token(db, tid)
        async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}) as h:
            listed = (await h.get("/v1/scans")).json()
            one = (await h.get(f"/v1/scans/{AS_OF}")).json()
        assert listed == [one]
        seen[tid] = one
    assert (seen[done]["status"], seen[done]["reconciled"]) == ("completed", True)
    assert seen[done]["summary"]["due"] == result.due and seen[done]["finished_at"]
    assert (seen[stopped]["status"], seen[stopped]["error"]) == ("failed", "the scan's workflow was terminated")
    stored = await owner.fetchval(
        "select count(*) from scan_runs where tenant_id = any($1) and status = 'running'", [done, stopped]
    )
    assert stored == 2  # reads are side-effect free


async def test_a_chunk_that_ran_out_of_retries_in_an_outage_is_re_run_by_the_scan(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, sandbox: SandboxHandle
) -> None:
    """Stripe's invoice list answers 503 (Retry-After: 1 s keeps the test short) until the step has spent all eight
    attempts: it fails, and the tenant scan waits, re-runs it on the same IDs, and completes instead of failing.
    The outage lasts until the scan has begun to wait, not a count of requests: the sandbox is shared, and a count
    was spent unevenly by how many requests an attempt made and by other tests' scans still retrying."""
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set window_max_days = 40")  # one chunk
    sandbox.add_fault("stripe", "/v1/invoices", status=503, times=None, retry_after=1)
    wid = await start_scan(client, tid, AS_OF)
    try:
        await eventually(lambda: count_events(client, wid, "TIMER_STARTED"), timeout=120)  # retries ran out: it waits
    finally:
        sandbox.reset()
    result = await client.get_workflow_handle(wid, result_type=TenantScanResult).result()
    async with db.tenant(tid) as conn:
        judged = await conn.fetchval("select count(*) from classifications where run_date = $1", AS_OF)
        run = await conn.fetchrow("select status, error from scan_runs where run_date = $1", AS_OF)
    assert result.due == judged > 0 and tuple(run) == ("completed", None)
    assert await count_events(client, f"tenant-scan/{tid}/{AS_OF}", "TIMER_STARTED") == 1  # waited once, re-ran
    await record_history(client, f"tenant-scan/{tid}/{AS_OF}", "tenant_scan_resumed_after_outage")
    assert await activity_attempts(client, f"scan-chunk/{tid}/{AS_OF}/0", "gather_stripe") == [1]  # the re-run
