"""Many tenants: the daily scan walks them a page at a time, a bounded number in flight, and continues-as-new, so
no history grows with the number of tenants (issue 14, item 5). Real dev server, real Postgres, real workers."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from db.pool import Database
from schemas.workflow_io import DailyScanInput, DailyScanResult, DailyTally
from tests.conftest import AS_OF, create_tenant, eventually, manifest_key
from workflows.scan import KEEP_FAILURES, DailyScanWorkflow, tallied

pytestmark = pytest.mark.usefixtures("workers")

PAGE = 3
# A page's history: the page listing and the run's own start and close (about a dozen events), and per tenant at
# most 9: its child's initiated, started and closed events, and up to two workflow tasks of three events each.
PER_TENANT, FIXED = 9, 15


@pytest.fixture
async def only(owner: asyncpg.Connection) -> AsyncIterator[list[str]]:
    """Park every other test's tenants for this test's daily run, and give them back after."""
    active = [r[0] for r in await owner.fetch("select id from tenants where active")]
    mine: list[str] = []
    yield mine
    await owner.execute("update tenants set active = (id = any($1::text[]))", active + mine)


async def test_the_daily_scan_pages_through_tenants_and_continues_as_new(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: object,
    workspace: Path,
    client: Client,
    only: list[str],
) -> None:
    base = sandbox.stripe_api_base  # type: ignore[attr-defined]
    good = await create_tenant(owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=base)
    # Tenants with no Stripe connected: each scan fails at once, and costs only itself.
    bare = [await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None) for _ in range(7)]
    only += [good, *bare]
    await owner.execute("update tenants set active = (id = any($1::text[]))", only)

    handle = await client.start_workflow(
        DailyScanWorkflow.run,
        DailyScanInput(run_date=AS_OF + dt.timedelta(days=2), page_size=PAGE, in_flight=2),
        id=f"daily-pages-{good}",
        task_queue="renewals",
    )
    result: DailyScanResult = await handle.result()
    assert result.tally == DailyTally(
        completed=1, failed=7, already_running=0, failures={t: result.tally.failures[t] for t in bare}
    )
    assert all("not connected" in result.tally.failures[t] for t in bare)
    assert result.run_date == AS_OF + dt.timedelta(days=2)  # carried across the runs, not re-read from the clock

    # 8 tenants in pages of 3: three runs, the first two closed by continue-as-new, each history bounded by its page.
    async def three_runs() -> list[str]:
        runs = [wf.run_id async for wf in client.list_workflows(f"WorkflowId = '{handle.id}'")]
        return runs if len(runs) == 3 else []

    for run_id in await eventually(three_runs):
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        events = history.events
        children = sum(e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED for e in events)
        assert children <= PAGE and len(events) <= PER_TENANT * children + FIXED, (children, len(events))
        if children == PAGE:
            assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            if os.environ.get("RECORD_HISTORIES") == "1":
                (Path(__file__).parent / "histories" / "daily_scan_page_continued.json").write_text(history.to_json())
    # The default page (500) at this bound stays under the 10,240 events asked of 10,000 tenants.
    assert PER_TENANT * DailyScanInput().page_size + FIXED < 10_240


def test_the_tally_counts_every_page_and_keeps_a_bounded_list_of_failures() -> None:
    t = tallied(DailyTally(), {"a": "completed: 3 due, 1 drafts", "b": "failed: no key"})
    t = tallied(
        t,
        {f"x{i}": "failed: down" for i in range(KEEP_FAILURES + 5)} | {"c": "already running (started by hand today)"},
    )
    assert (t.completed, t.failed, t.already_running) == (1, KEEP_FAILURES + 6, 1)
    assert len(t.failures) == KEEP_FAILURES and t.failures["b"] == "failed: no key"
