"""Scan benchmark: a synthetic tenant of N customers on the real stack (dev server, Postgres, Stripe sandbox,
offline model), against a bare fan-out of one no-op activity per customer on the same server.

    python -m bench.scan --customers 1000
    python -m bench.scan --customers 10000

Prints customers per second, the largest workflow history of the run (events), and the ratio to the bare
fan-out's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.scan import ScanActivities
from bench.fanout import BareFanout, noop
from core.secrets import encrypt, new_key
from db import tenants
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from schemas import search
from schemas.settings import Settings
from schemas.workflow_io import TenantScanResult
from workers.stack import start_embedded_postgres, temporal_binary
from workers.worker import build_workers, running


async def largest_history(client: Client, tenant: str) -> tuple[int, str]:
    biggest = (0, "")
    async for wf in client.list_workflows(f'Tenant = "{tenant}"'):
        events = len((await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()).events)
        biggest = max(biggest, (events, wf.workflow_type))
    return biggest


async def main(customers: int, chunk_size: int, stripe_rps: float) -> None:
    from sandbox.generate import generate_workspace
    from sandbox.server import start_sandbox

    work = Path(tempfile.mkdtemp(prefix="renewals-bench-"))
    as_of = dt.date(2026, 11, 22)
    t0 = time.perf_counter()
    print(f"generating a workspace of {customers} customers…", flush=True)
    workspace = generate_workspace(work / "ws", customers=customers, as_of=as_of, seed=3)
    print(f"  {time.perf_counter() - t0:.1f}s; starting Postgres, the dev server and the sandbox…", flush=True)
    owner = await ensure_database(start_embedded_postgres(work / "pg"), "bench")
    await migrate(owner, "bench")
    db = await Database.connect(app_dsn(owner, "bench"), max_size=20)
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_binary(),
                                                search_attributes=list(search.ALL),
                                                data_converter=pydantic_data_converter)
    sandbox = start_sandbox(workspace)
    key = new_key()
    settings = Settings(data_dir=work, database_url=owner, app_db_password="bench", secret_key=key,
                        chunk_size=chunk_size)
    tid = f"bench-{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(owner)
    await tenants.create_tenant(conn, tid, "Bench")
    await conn.close()
    stripe_key = json.loads((workspace / "manifest.json").read_text())["keys"]["stripe"]
    async with db.tenant(tid) as c:
        await tenants.put_connector(c, tid, "stripe", encrypt(key, stripe_key), {"api_base": sandbox.stripe_api_base})
    client = env.client
    try:
        scan = ScanActivities(db, client, key, chunk_size=chunk_size, stripe_rps=stripe_rps)
        async with running(build_workers(client, db, settings, key, scan=scan)):
            from api.scans import start_scan

            print("scanning…", flush=True)
            t = time.perf_counter()
            wid = await start_scan(client, tid, as_of)
            handle = client.get_workflow_handle(wid, result_type=TenantScanResult)
            task = asyncio.create_task(handle.result())
            while not task.done():
                await asyncio.wait({task}, timeout=5)
                async with db.tenant(tid) as c:
                    n = await c.fetchval("select count(*) from classifications")
                print(f"  {time.perf_counter() - t:6.1f}s  {n} classified", flush=True)
            result = task.result()
            scan_s = time.perf_counter() - t
        events, wf_type = await largest_history(client, tid)
        async with Worker(client, task_queue="bench-fanout", workflows=[BareFanout], activities=[noop],
                          max_concurrent_activities=200):
            t = time.perf_counter()
            await client.execute_workflow(BareFanout.run, result.due, id=f"fanout-{tid}", task_queue="bench-fanout")
            fan_s = time.perf_counter() - t
    finally:
        sandbox.stop()
        await db.close()
        await env.shutdown()
    scan_rate, fan_rate = result.due / scan_s, result.due / fan_s
    print(json.dumps({
        "customers": customers, "stripe_rps": stripe_rps, "due": result.due, "drafts": result.drafts, "routes": result.routes,
        "scan_seconds": round(scan_s, 1), "customers_per_second": round(scan_rate, 1),
        "largest_history_events": events, "largest_history_workflow": wf_type,
        "bare_fanout_seconds": round(fan_s, 1), "bare_fanout_per_second": round(fan_rate, 1),
        "scan_to_fanout_ratio": round(scan_rate / fan_rate, 3)}, indent=2))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--chunk-size", type=int, default=200)
    p.add_argument("--stripe-rps", type=float, default=20.0,
                   help="Stripe requests/s per worker (the product's default stays under Stripe's 25/s sandbox limit)")
    a = p.parse_args()
    asyncio.run(main(a.customers, a.chunk_size, a.stripe_rps))
