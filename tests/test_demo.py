"""`renewals demo` restarted on the same day, against the real dev server and workers: it attaches to today's scan
when that completed or is running, and starts it again only when it failed (issue #17: a restart re-ran the
completed scan, and printed the first run's "scan completed" while the second was still going)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from db.pool import Database
from sandbox.server import SandboxHandle
from tests.conftest import AS_OF, create_tenant, manifest_key
from workers.demo import todays_scan

pytestmark = pytest.mark.usefixtures("workers")


async def test_a_restarted_demo_attaches_to_todays_completed_scan(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle, workspace: Path, client: Client
) -> None:
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )
    first, attached = await todays_scan(client, AS_OF, tid)
    assert not attached
    result = await first.result()
    again, attached = await todays_scan(client, AS_OF, tid)
    assert attached and again.run_id == first.run_id and (await again.result()) == result
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{first.id}'")]
    assert len(runs) <= 1  # never a second run (visibility may not list the first one yet)


async def test_a_failed_scan_of_today_is_started_again(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)  # Stripe not connected
    failed, attached = await todays_scan(client, AS_OF, tid)
    with pytest.raises(WorkflowFailureError):
        await failed.result()
    assert not attached and (await failed.describe()).status == WorkflowExecutionStatus.FAILED
    retried, attached = await todays_scan(client, AS_OF, tid)
    assert not attached and retried.run_id != failed.run_id
