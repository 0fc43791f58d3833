"""Chaos scenarios for the renewal scan (issue 13: items 8, 9, 10, 12, and the worker SIGKILL): each runs a real
scan of a fresh tenant through the worker process and counts what the fault cost."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio.client import WorkflowFailureError

from api.scans import start_scan
from bench.chaos import AS_OF, ChaosStack, Row, scenario
from bench.faults import EmbeddedPostgres, activity_attempts, count_events
from core.secrets import encrypt, new_key
from db import tenants
from schemas.workflow_io import TenantScanResult


async def poll(check: Any, within: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)


async def finish(stack: ChaosStack, wid: str, within: float = 900) -> TenantScanResult | str:
    """The scan's result, or why it failed."""
    try:
        return await asyncio.wait_for(
            stack.client.get_workflow_handle(wid, result_type=TenantScanResult).result(), within
        )
    except WorkflowFailureError as e:
        return str(getattr(e.cause, "message", e.cause))


async def tally(stack: ChaosStack, tid: str) -> dict[str, Any]:
    """due, judged (distinct customers with a verdict), duplicates (extra diary entries), the run's status."""
    async with stack.db.tenant(tid) as conn:
        due = await conn.fetchval("select count(*) from scan_customers where run_date = $1", AS_OF)
        judged = await conn.fetchval(
            "select count(distinct customer_id) from classifications where run_date = $1", AS_OF
        )
        entries = await conn.fetchval("select count(*) from diary_entries where run_date = $1", AS_OF)
        run = await conn.fetchrow("select status, error from scan_runs where run_date = $1", AS_OF)
    return {
        "due": due,
        "judged": judged,
        "duplicates": entries - judged,
        "status": run["status"] if run else None,
        "error": run["error"] if run else None,
    }


async def diary_count(stack: ChaosStack, tid: str) -> int:
    async with stack.db.tenant(tid) as conn:
        return await conn.fetchval("select count(*) from diary_entries")


@scenario
async def worker_sigkill_mid_scan(stack: ChaosStack) -> Row:
    tid = await stack.tenant()
    wid = await start_scan(stack.client, tid, AS_OF)
    await poll(lambda: diary_count(stack, tid), within=180, interval=0.05)
    stack.kill_worker()
    at_kill = await diary_count(stack, tid)
    stack.start_worker()
    await finish(stack, wid)
    t = await tally(stack, tid)
    return Row(
        "worker SIGKILL mid-scan",
        "a new worker finishes the scan; each customer judged once",
        f"killed at {at_kill}/{t['due']} judged; {t['judged']}/{t['due']} judged, {t['duplicates']} duplicates, "
        f"run {t['status']}",
        lost=t["due"] - t["judged"],
        ok=t["duplicates"] == 0 and t["status"] == "completed" and 0 < at_kill < t["due"],
        detail=t | {"at_kill": at_kill},
    )


@scenario
async def postgres_down_mid_scan(stack: ChaosStack) -> Row:
    tid = await stack.tenant()
    wid = await start_scan(stack.client, tid, AS_OF)
    await poll(lambda: diary_count(stack, tid), within=180, interval=0.05)
    at_stop = await diary_count(stack, tid)
    await asyncio.to_thread(stack.pg.stop)
    await asyncio.sleep(stack.outage)  # the outage: the database stays away this long
    await asyncio.to_thread(stack.pg.start)
    outcome = await finish(stack, wid)
    t = await tally(stack, tid)
    resumed = await count_events(stack.client, wid, "TIMER_STARTED")
    return Row(
        f"PostgreSQL down {stack.outage:.0f}s mid-scan (13.8)",
        "the scan resumes by itself; status completed, every customer judged",
        f"stopped at {at_stop}/{t['due']}; {t['judged']}/{t['due']} judged, run {t['status']}, resumed {resumed}x"
        + ("" if isinstance(outcome, TenantScanResult) else f"; failed: {outcome}"),
        lost=t["due"] - t["judged"],
        ok=t["status"] == "completed" and t["duplicates"] == 0 and isinstance(outcome, TenantScanResult),
        detail=t | {"at_stop": at_stop, "resumed": resumed},
    )


@scenario
async def malformed_stripe_records(stack: ChaosStack) -> Row:
    handle, bad = stack.broken
    tid = await stack.tenant(stripe_base=handle.stripe_api_base)  # type: ignore[attr-defined]
    wid = await start_scan(stack.client, tid, AS_OF)
    await finish(stack, wid)
    t = await tally(stack, tid)
    async with stack.db.tenant(tid) as conn:
        errors = dict(
            await conn.fetch(
                """select customer_id, error from evidence
                    where source = 'stripe' and error is not null and run_date = $1""",
                AS_OF,
            )
        )
    named = bad.invoice_id in (errors.get(bad.invoice_customer) or "")
    itemless = "has no items" in (errors.get(bad.itemless_customer) or "")
    retried = max(await activity_attempts(stack.client, f"scan-chunk/{tid}/{AS_OF}/0", "gather_stripe"), default=0)
    return Row(
        "invoice `created` as a string, subscription without items (13.9)",
        "only those customers lose invoice evidence, named; nobody dropped; no retries",
        f"{t['judged']}/{t['due']} judged, invoice named: {named}, item-less kept: {itemless}, "
        f"{len(errors)} Stripe errors, run {t['status']}",
        lost=t["due"] - t["judged"],
        ok=named and itemless and len(errors) == 2 and t["status"] == "completed" and retried <= 1,
        detail=t | {"stripe_errors": errors},
    )


@scenario
async def wrong_secret_key(stack: ChaosStack) -> Row:
    tid = await stack.tenant()
    async with stack.db.tenant(tid) as conn:  # stored under a key the worker does not have
        row = await tenants.get_connector(conn, tid, "stripe")
        await tenants.put_connector(
            conn,
            tid,
            "stripe",
            encrypt(new_key(), stack.sandbox.keys["stripe"]),
            row["config"],  # type: ignore[attr-defined]
        )
    started = time.monotonic()
    outcome = await finish(stack, await start_scan(stack.client, tid, AS_OF), within=300)
    took = time.monotonic() - started
    t = await tally(stack, tid)
    says = "RENEWALS_SECRET_KEY" in (t["error"] or "")
    return Row(
        "wrong RENEWALS_SECRET_KEY (13.9)",
        "fails at once, saying what to do",
        f"failed after {took:.0f}s, run {t['status']}, names RENEWALS_SECRET_KEY: {says}",
        lost=0,
        ok=isinstance(outcome, str) and took < 30 and says and t["status"] == "failed",
        detail=t,
    )


@scenario
async def vendor_down(stack: ChaosStack) -> Row:
    sandbox: Any = stack.sandbox
    tid = await stack.tenant()
    sandbox.add_fault("stripe", "/v1/invoices", status=503, times=None)
    wid = await start_scan(stack.client, tid, AS_OF)

    async def state() -> str:
        async with stack.db.tenant(tid) as conn:
            return await conn.fetchval("select state from connectors where kind = 'stripe'")

    during = await poll(lambda: _is(state, "unreachable"), within=90)
    sandbox.reset()
    await finish(stack, wid)
    after = await state()
    t = await tally(stack, tid)
    return Row(
        "Stripe down mid-scan, then back (13.10)",
        "connector unreachable during, connected after; scan completes",
        f"during: {during or 'connected'}, after: {after}; {t['judged']}/{t['due']} judged, run {t['status']}",
        lost=t["due"] - t["judged"],
        ok=during == "unreachable" and after == "connected" and t["status"] == "completed",
        detail=t,
    )


async def _is(read: Any, wanted: str) -> str | None:
    value = await read()
    return value if value == wanted else None


@scenario
async def slow_product_database(stack: ChaosStack) -> Row:
    from sandbox.product_db import QUERY, load_usage

    # The tenant's product database on a server of its own: the usage connector refuses the product's own (13.1).
    server = await asyncio.to_thread(EmbeddedPostgres, stack.work / "product-pg")
    product = await load_usage(server.uri, stack.sandbox.workspace, f"product_{int(time.time())}")  # type: ignore[attr-defined]
    slow = QUERY.replace("from daily_metrics", "from daily_metrics, (select pg_sleep(21)) as slow_database")
    tid = await stack.tenant()
    async with stack.db.tenant(tid) as conn:
        await tenants.put_connector(conn, tid, "usage", encrypt(stack.key, product), {"query": slow})
        await conn.execute("update tenant_settings set window_max_days = 40")  # a few chunks: each waits 21 s
    wid = await start_scan(stack.client, tid, AS_OF)
    await finish(stack, wid)
    t = await tally(stack, tid)
    async with stack.db.tenant(tid) as conn:
        usage = await conn.fetch("select error from evidence where source = 'usage' and run_date = $1", AS_OF)
        chunks = await conn.fetch("select distinct chunk_no from scan_customers where run_date = $1", AS_OF)
    lost = t["due"] - len([r for r in usage if not r["error"] or "no rows" in r["error"]])
    retried = [
        a
        for c in chunks
        for a in await activity_attempts(stack.client, f"scan-chunk/{tid}/{AS_OF}/{c[0]}", "gather_usage")
    ]
    return Row(
        "usage query 21 s, heartbeat timeout 20 s (13.12)",
        "usage heartbeats; evidence kept; no retries",
        f"{t['due'] - lost}/{t['due']} with usage evidence, gather_usage attempts {sorted(set(retried))}, "
        f"run {t['status']}",
        lost=lost,
        ok=set(retried) == {1} and t["status"] == "completed",
        detail=t,
    )


@scenario
async def stripe_revoked_while_slack_reads(stack: ChaosStack) -> Row:
    sandbox: Any = stack.sandbox
    tid = await stack.tenant()
    async with stack.db.tenant(tid) as conn:  # Slack is read under one request a second: a chunk takes ~20 s
        await tenants.put_connector(
            conn, tid, "slack", encrypt(stack.key, sandbox.keys["slack"]), {"api_base": sandbox.slack_base_url}
        )
    sandbox.add_fault("stripe", "/v1/invoices", status=401, times=None)
    slack_before = sum(sandbox.request_counts("slack").values())
    started = time.monotonic()
    try:
        outcome = await finish(stack, await start_scan(stack.client, tid, AS_OF), within=300)
        slack_reads = sum(sandbox.request_counts("slack").values()) - slack_before
    finally:
        sandbox.reset()
    took = time.monotonic() - started
    async with stack.db.tenant(tid) as conn:
        state = await conn.fetchval("select state from connectors where kind = 'stripe'")
    # The tenant-wide invoice list (sync_invoices) meets the revoked key before any chunk starts: no Slack read is
    # spent on a scan that cannot finish. (A chunk whose own Stripe read fails, a briefing's, cancels the others.)
    return Row(
        "Stripe key revoked while Slack reads (13.12)",
        "scan fails at once, before any other source is read; connector says credentials rejected",
        f"failed after {took:.0f}s, {slack_reads} Slack requests made, stripe {state}",
        lost=0,  # nothing judged on a revoked key is the expected outcome; nothing was half-written
        ok=isinstance(outcome, str) and slack_reads == 0 and state == "credentials_rejected",
    )
