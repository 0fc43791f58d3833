"""Kill the worker process in the middle of a scan, start a new one, and find exactly one diary entry per
customer: Temporal resumes the scan, and the database's once-per-run keys absorb the retried activities."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client

from api.scans import start_scan
from db.pool import Database
from schemas.settings import Settings
from schemas.workflow_io import TenantScanResult
from tests.conftest import APP_PASSWORD, AS_OF, create_tenant, eventually, manifest_key


@pytest.fixture(scope="module")
def slow_sandbox(workspace: Path) -> Iterator[object]:
    """Stripe held to 40 requests/s, so a scan lasts long enough to be interrupted."""
    from sandbox.server import start_sandbox

    handle = start_sandbox(workspace, rate_limits={"stripe": 40})
    yield handle
    handle.stop()


def worker_process(client: Client, settings: Settings, owner_dsn: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "RENEWALS_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "DATABASE_URL": owner_dsn,
        "RENEWALS_APP_DB_PASSWORD": APP_PASSWORD,
        "RENEWALS_SECRET_KEY": settings.secret_key or "",
        "RENEWALS_CHUNK_SIZE": "20",
        "RENEWALS_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "worker", "--no-schedules"],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )


async def test_killing_the_worker_mid_scan_loses_and_duplicates_nothing(
    owner: asyncpg.Connection,
    owner_dsn: str,
    db: Database,
    secret_key: str,
    slow_sandbox: object,
    workspace: Path,
    client: Client,
    settings: Settings,
) -> None:
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=slow_sandbox.stripe_api_base
    )  # type: ignore[attr-defined]
    first = worker_process(client, settings, owner_dsn)
    try:
        wid = await start_scan(client, tid, AS_OF)

        async def some_recorded() -> int:
            async with db.tenant(tid) as conn:
                return await conn.fetchval("select count(*) from diary_entries")

        await eventually(some_recorded, timeout=60, interval=0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        async with db.tenant(tid) as conn:
            at_kill = await conn.fetchval("select count(*) from diary_entries")
            due = await conn.fetchval("select count(*) from scan_customers where run_date = $1", AS_OF)
        assert 0 < at_kill < due, "the kill should land mid-scan"
        second = worker_process(client, settings, owner_dsn)
        try:
            result = await asyncio.wait_for(
                client.get_workflow_handle(wid, result_type=TenantScanResult).result(), timeout=240
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    async with db.tenant(tid) as conn:
        per_customer = await conn.fetch("select customer_id, count(*) n from diary_entries group by customer_id")
        classified = await conn.fetchval("select count(*) from classifications")
        audit = await conn.fetchval("select count(*) from audit_log where action = 'verdict.recorded'")
    assert result.due == due == len(per_customer) == classified == audit
    assert all(r["n"] == 1 for r in per_customer)
