"""Day-two Slack reads (issue #14): a tenant of N customers (one shared channel each) read yesterday, read again
today at Tier 3 pace with the Events API on, so only each channel's sweep-day share is read from Slack and the
rest comes from what PostgreSQL keeps. The sandbox enforces Slack's Tier 3 limit (50 a minute) throughout.

    python -m bench.slack_day2 --customers 2000

Day one is read unthrottled (its pace is not what is measured here). The last line is JSON with
`slack_day2_seconds` (target: <= 300 for 2,000 customers), the requests per method and the busiest clock
minute (as requests per second: Slack counts its limits per minute).
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
from typing import Any

import asyncpg
from temporalio.testing import ActivityEnvironment

from activities.scan import ScanActivities
from bench.stack import AS_OF
from connectors import registry
from core.pacing import SLACK_PER_MINUTE, requests_per_second
from core.secrets import encrypt, new_key
from db import sources, tenants
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from sandbox.generate import generate_workspace
from sandbox.server import SandboxHandle, start_sandbox
from schemas.workflow_io import ChunkRef, TenantScanInput
from workers.stack import start_embedded_postgres

CHUNK = 200


async def read_all(acts: ScanActivities, tid: str, day: dt.date) -> float:
    """Every chunk's Slack gather at once, as a scan's chunks run: they share the tenant's one pace. Seconds."""
    inp = TenantScanInput(tenant_id=tid, run_date=day)
    await ActivityEnvironment().run(acts.sync_customers, inp)
    plan = await ActivityEnvironment().run(acts.select_due, inp)
    t = time.perf_counter()
    await asyncio.gather(
        *(
            ActivityEnvironment().run(acts.gather_source, ChunkRef(tenant_id=tid, run_date=day, chunk_no=c), "slack")
            for c in plan.chunks
        )
    )
    return time.perf_counter() - t


async def main(customers: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="renewals-slack-day2-"))
    print(f"generating a workspace of {customers} customers…", flush=True)
    workspace = generate_workspace(work / "ws", customers=customers, as_of=AS_OF, seed=3)
    owner = await ensure_database(start_embedded_postgres(work / "pg"), "bench")
    await migrate(owner, "bench")
    db = await Database.connect(app_dsn(owner, "bench"), max_size=20)
    box: SandboxHandle = start_sandbox(workspace)
    try:
        key, tid = new_key(), f"bench-{uuid.uuid4().hex[:6]}"
        conn = await asyncpg.connect(owner)
        await tenants.create_tenant(conn, tid, "Bench")
        await conn.close()
        slack = {"api_base": box.slack_base_url}
        slack |= await registry.check("slack", box.keys["slack"], slack)  # the team id, as connecting stores it
        async with db.tenant(tid) as c:
            await tenants.put_connector(
                c, tid, "stripe", encrypt(key, box.keys["stripe"]), {"api_base": box.stripe_api_base}
            )
            await tenants.put_connector(c, tid, "slack", encrypt(key, box.keys["slack"]), slack)
            await c.execute("update tenant_settings set window_min_days = 0, window_max_days = 400")  # all of them
        print("day one: every channel's 120 days, unthrottled…", flush=True)
        fast = ScanActivities(db, None, key, chunk_size=CHUNK, connector_rps={"slack": 1000})  # type: ignore[arg-type]
        day_one = await read_all(fast, tid, AS_OF)
        async with db.tenant(tid) as c:  # Slack's events reach the tenant (its endpoint answered url_verification)
            await sources.set_cursor(c, tid, sources.SLACK_EVENTS, str(int(time.time())), AS_OF)
        box.reset()
        box.state.rate_limits["slack"] = SLACK_PER_MINUTE[3] / 60  # Slack's own Tier 3 limit, enforced
        day_two = AS_OF + dt.timedelta(days=1)
        pace = requests_per_second("slack", box.keys["slack"], slack)
        print(f"day two at Tier 3 pace ({pace}/s)…", flush=True)
        tier3 = ScanActivities(db, None, key, chunk_size=CHUNK)  # type: ignore[arg-type]
        seconds = await read_all(tier3, tid, day_two)
        seen = box.observed_rps().get("slack", {})
        return {
            "customers": customers,
            "day_one_seconds_unthrottled": round(day_one, 1),
            "slack_day2_seconds": round(seconds, 1),
            "slack_day2_requests": box.request_counts("slack"),
            "slack_pace_rps": pace,
            "slack_max_observed_rps": seen.get("max_rps"),
            "slack_rps_limit": round(SLACK_PER_MINUTE[3] / 60, 3),
        }
    finally:
        box.stop()
        await db.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=2000)
    print(json.dumps(asyncio.run(main(p.parse_args().customers))))
