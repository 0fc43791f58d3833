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
import json
import time

from temporalio.client import Client
from temporalio.worker import Worker

from activities.scan import ScanActivities
from bench.fanout import BareFanout, noop
from bench.stack import AS_OF, bench_stack
from schemas.workflow_io import TenantScanResult
from workers.worker import build_workers, running


async def largest_history(client: Client, tenant: str) -> tuple[int, str]:
    biggest = (0, "")
    async for wf in client.list_workflows(f'Tenant = "{tenant}"'):
        events = len((await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()).events)
        biggest = max(biggest, (events, wf.workflow_type))
    return biggest


async def main(customers: int, chunk_size: int, stripe_rps: float) -> None:
    async with bench_stack(customers, chunk_size) as st:
        db, client, settings, key, tid = st.db, st.client, st.settings, st.key, st.tenant
        scan = ScanActivities(db, client, key, chunk_size=chunk_size, stripe_rps=stripe_rps)
        async with running(build_workers(client, db, settings, key, scan=scan)):
            from api.scans import start_scan

            print("scanning…", flush=True)
            t = time.perf_counter()
            wid = await start_scan(client, tid, AS_OF)
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
        async with Worker(
            client, task_queue="bench-fanout", workflows=[BareFanout], activities=[noop], max_concurrent_activities=200
        ):
            t = time.perf_counter()
            await client.execute_workflow(BareFanout.run, result.due, id=f"fanout-{tid}", task_queue="bench-fanout")
            fan_s = time.perf_counter() - t
    scan_rate, fan_rate = result.due / scan_s, result.due / fan_s
    print(
        json.dumps(
            {
                "customers": customers,
                "stripe_rps": stripe_rps,
                "due": result.due,
                "drafts": result.drafts,
                "routes": result.routes,
                "scan_seconds": round(scan_s, 1),
                "customers_per_second": round(scan_rate, 1),
                "largest_history_events": events,
                "largest_history_workflow": wf_type,
                "bare_fanout_seconds": round(fan_s, 1),
                "bare_fanout_per_second": round(fan_rate, 1),
                "scan_to_fanout_ratio": round(scan_rate / fan_rate, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--chunk-size", type=int, default=200)
    p.add_argument(
        "--stripe-rps",
        type=float,
        default=20.0,
        help="Stripe requests/s per worker (the product's default stays under Stripe's 25/s sandbox limit)",
    )
    a = p.parse_args()
    asyncio.run(main(a.customers, a.chunk_size, a.stripe_rps))
