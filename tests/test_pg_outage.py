"""PostgreSQL stopped in the middle of a scan for longer than the old retry policy lasted, then started again:
the scan resumes by itself on the same date and IDs, every due customer is judged exactly once, and the run's
status is right. A server of its own (the session's is shared) and workers of its own on the dev server's queues.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import Client

from activities.email import SmtpConfig
from activities.scan import ScanActivities
from api.scans import start_scan
from bench.faults import EmbeddedPostgres
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from sandbox.server import SandboxHandle
from schemas import queues
from schemas.settings import Settings
from schemas.workflow_io import TenantScanResult
from tests.conftest import APP_PASSWORD, AS_OF, create_tenant, eventually
from workers.stack import SmtpSink
from workers.worker import build_workers, running

# Longer than the old database retry policy lasted (10 attempts, 30 s apart at most: about 151 s), after which the
# scan failed, could not record it, and stayed "running" with most customers unjudged.
OUTAGE_SECONDS = 170


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own_pg(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("outage"))
    dsn = await ensure_database(pg.uri, "renewals_outage")
    await migrate(dsn, APP_PASSWORD)
    yield pg, dsn
    pg.start()  # leave it running for its atexit stop, whatever the test did


async def test_postgres_down_mid_scan_then_back_and_the_scan_finishes_by_itself(
    own_pg: tuple[EmbeddedPostgres, str],
    client: Client,
    secret_key: str,
    sandbox: SandboxHandle,
    smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    pg, owner_dsn = own_pg
    db = await Database.connect(app_dsn(owner_dsn, APP_PASSWORD))
    owner = await asyncpg.connect(owner_dsn)
    settings = Settings(
        data_dir=tmp_path, database_url=owner_dsn, app_db_password=APP_PASSWORD, secret_key=secret_key, chunk_size=10
    )
    try:
        tid = await create_tenant(
            owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
        )
        await owner.close()
        # Stripe read at 5 customers a second: the chunks are still gathering when the database goes.
        scan = ScanActivities(db, client, secret_key, chunk_size=10, stripe_rps=5, approval_queue=queues.MAIN)
        smtp_config = SmtpConfig(smtp.host, smtp.port, "r@test")
        workers = build_workers(client, db, settings, secret_key, smtp=smtp_config, scan=scan)
        async with running(workers):
            wid = await start_scan(client, tid, AS_OF)

            async def some_judged() -> int:
                async with db.tenant(tid) as conn:
                    return await conn.fetchval("select count(*) from diary_entries")

            await eventually(some_judged, timeout=120, interval=0.05)
            async with db.tenant(tid) as conn:
                due = await conn.fetchval("select count(*) from scan_customers where run_date = $1", AS_OF)
                at_stop = await conn.fetchval("select count(*) from diary_entries")
            assert 0 < at_stop < due, "the outage should land mid-scan"
            await asyncio.to_thread(pg.stop)
            stopped = time.monotonic()
            # The outage itself, not a wait for something: the database stays away this long.
            await asyncio.sleep(OUTAGE_SECONDS)
            await asyncio.to_thread(pg.start)
            print(f"\nPostgreSQL down {time.monotonic() - stopped:.0f}s with {at_stop}/{due} customers judged")
            result = await asyncio.wait_for(
                client.get_workflow_handle(wid, result_type=TenantScanResult).result(), timeout=480
            )
        async with db.tenant(tid) as conn:
            per_customer = await conn.fetch("select customer_id, count(*) n from diary_entries group by customer_id")
            judged = await conn.fetchval("select count(*) from classifications where run_date = $1", AS_OF)
            run = await conn.fetchrow("select status, error, summary from scan_runs where run_date = $1", AS_OF)
    finally:
        await db.close()
    assert result.due == due == len(per_customer) == judged
    assert all(r["n"] == 1 for r in per_customer)
    assert (run["status"], run["error"], run["summary"]["due"]) == ("completed", None, due)
