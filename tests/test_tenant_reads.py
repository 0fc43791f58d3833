"""The whole-tenant reads of a scan side by side (issue #14): Stripe lists cut into created windows (their pure
logic, the merge of their page streams, the reads through the official SDK against the vendor sandbox, which must
give exactly what one cursor chain gives), the CRMs' dates in shares and from the links that changed, and the
customer sync's writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.scan import STRIPE_WINDOWS, ScanActivities, apply_renewal_order
from api.scans import start_scan
from connectors.registry import open_crm
from connectors.streams import merged, side_by_side
from connectors.stripe import StripeSource
from core.renewal import RenewalRule
from core.secrets import encrypt
from core.windows import chains, coarser, even_points, quantile_points, windows
from db import customers, sources, tenants
from db.pool import Database
from sandbox.server import SandboxHandle
from schemas.workflow_io import TenantScanInput, TenantScanResult
from tests.conftest import AS_OF, create_tenant, record_history


def inside(created: int, window: tuple[int | None, int | None]) -> bool:
    lo, hi = window
    return (lo is None or created >= lo) and (hi is None or created < hi)


@pytest.mark.parametrize("points", [[], [5], [3, 9, 9, 20], [20, 3, 9]])
def test_windows_cover_all_of_time_once(points: list[int]) -> None:
    ws = windows(points)
    assert ws[0][0] is None and ws[-1][1] is None
    for t in [-(10**9), 0, 3, 4, 5, 9, 19, 20, 10**10]:
        assert sum(inside(t, w) for w in ws) == 1, (t, ws)


def test_windows_from_a_start_drop_points_before_it_and_start_there() -> None:
    assert windows([5, 10, 15], since=10) == [(10, 15), (15, None)]
    assert windows([], since=7) == [(7, None)]


def test_even_points_split_a_range_and_quantile_points_split_the_objects() -> None:
    assert even_points(0, 100, 4) == [25, 50, 75]
    assert even_points(0, 2, 4) == [] and even_points(0, 100, 1) == []
    # customers signed in waves: the cut points follow the objects, not the calendar
    created = [1] * 60 + [1000 + i for i in range(40)]
    # the first and second quarter both fall inside the wave at 1: one cut, never a window that is empty by design
    assert quantile_points(created, 4) == [1015]
    assert quantile_points(list(range(100)), 4) == [25, 50, 75]
    assert quantile_points([], 4) == []


def test_chains_are_as_many_as_the_pace_feeds() -> None:
    assert [chains(r) for r in (0.83, 5, 9, 17.1, 22.5, 90, 10_000)] == [1, 1, 1, 1, 2, 9, 16]
    assert chains(10_000, most=4) == 4


def test_coarser_cut_points_keep_the_shares_about_even() -> None:
    quarters = [25, 50, 75]
    assert coarser(quarters, 4) == quarters and coarser(quarters, 8) == quarters
    assert coarser(quarters, 2) == [50]
    assert coarser(quarters, 1) == [] and coarser(quarters, 0) == [] and coarser([], 3) == []


async def _stream(items: list[int], fail: bool = False, delay: float = 0.0) -> AsyncIterator[int]:
    for i in items:
        await asyncio.sleep(delay)
        yield i
    if fail:
        raise ValueError("page 3 refused")


async def test_merged_gives_every_item_of_every_stream() -> None:
    got = [i async for i in merged([_stream([1, 2, 3]), _stream([]), _stream([10, 11], delay=0.001)], ahead=1)]
    assert sorted(got) == [1, 2, 3, 10, 11]


async def test_merged_ends_with_the_first_failure_and_stops_the_other_streams() -> None:
    stopped = asyncio.Event()

    async def endless() -> AsyncIterator[int]:
        try:
            while True:
                await asyncio.sleep(0.001)
                yield 0
        finally:
            stopped.set()

    with pytest.raises(ValueError, match="page 3 refused"):
        async for _ in merged([endless(), _stream([1, 2], fail=True, delay=0.002)]):
            pass
    await asyncio.wait_for(stopped.wait(), 5)


async def test_a_windowed_list_reads_exactly_what_one_chain_reads(sandbox: SandboxHandle) -> None:
    source = StripeSource(sandbox.keys["stripe"], sandbox.stripe_api_base)
    one = [c["id"] async for c in source.customers()]
    created = [c["created"] async for c in source.customers()]
    cuts = windows(quantile_points(created, 4))
    assert len(cuts) == 4
    sandbox.reset()
    pages = [p async for p in source.customer_pages(cuts)]
    ids = [c["id"] for p in pages for c in p]
    assert len(ids) == len(one) and set(ids) == set(one)  # none twice, none missing
    assert sandbox.request_counts("stripe")["GET /v1/customers"] <= -(-len(one) // 100) + 3


async def test_the_customer_sync_keeps_its_cuts_and_reads_the_next_day_in_windows(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle, workspace: Path
) -> None:
    # a pace that feeds every window (as unthrottled): the test mode's 22.5 a second feeds one list after the other
    acts = ScanActivities(db, None, secret_key, stripe_rps=1000)  # type: ignore[arg-type]
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    first = await ActivityEnvironment().run(acts.sync_customers, TenantScanInput(tenant_id=tid, run_date=AS_OF))
    async with db.tenant(tid) as conn:
        cuts = await sources.cut_points(conn, sources.STRIPE_CUSTOMER_CUTS)
        before = await conn.fetch("select id, arr_cents, renewal_date, billing from customers order by id")
    assert len(cuts) == STRIPE_WINDOWS - 1
    sandbox.reset()
    day2 = TenantScanInput(tenant_id=tid, run_date=AS_OF + dt.timedelta(days=1))
    assert await ActivityEnvironment().run(acts.sync_customers, day2) == first
    async with db.tenant(tid) as conn:
        after = await conn.fetch("select id, arr_cents, renewal_date, billing from customers order by id")
    assert after == before
    # one cursor chain per window: each window's pages, where one chain over 500 customers is 5 pages
    customers = json.loads((workspace / "stripe" / "customers.json").read_text())
    per_window = Counter(next(n for n, w in enumerate(windows(cuts)) if inside(c["created"], w)) for c in customers)
    assert len(per_window) == STRIPE_WINDOWS
    assert sandbox.request_counts("stripe")["GET /v1/customers"] == sum(-(-n // 100) for n in per_window.values())


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
async def test_a_crms_renewal_dates_read_in_shares_at_once_are_those_of_one_read(
    kind: str, sandbox: SandboxHandle, workspace: Path
) -> None:
    config = sandbox.connector_config(kind)
    customers = json.loads((workspace / "stripe" / "customers.json").read_text())
    links = {c["id"]: {k: str(v) for k, v in (c.get("metadata") or {}).items()} for c in customers}
    crm = open_crm(kind, sandbox.keys[kind], config)
    sandbox.reset()
    one = await asyncio.to_thread(crm.renewal_dates_sync, links, AS_OF)
    one_calls = sum(sandbox.request_counts(kind).values())
    sandbox.reset()
    shared = await crm.renewal_dates(links, AS_OF, parts=4)
    assert shared == one and sum(d is not None for d in one.values()) > 100
    # no record asked for twice: the shares' batches are as many as one read's, give or take each share's last one
    assert sum(sandbox.request_counts(kind).values()) <= one_calls + 2 * 3


async def test_shares_keep_one_records_customers_together() -> None:
    seen: list[set[str]] = []

    def read(part: dict[str, dict[str, str]]) -> dict[str, str]:
        seen.append({ls.get("crm", "") for ls in part.values()})
        return {cid: ls.get("crm", "") for cid, ls in part.items()}

    links = {f"c{i}": {"crm": f"r{i % 7}"} for i in range(50)} | {"lone": {}}
    assert await side_by_side(read, links, "crm", 3) == {cid: ls.get("crm", "") for cid, ls in links.items()}
    assert len(seen) == 3 and sum(len(s) for s in seen) == 8  # 7 records and the unlinked, each in one share


async def test_a_second_sync_of_an_unchanged_tenant_rewrites_no_customer_and_keeps_the_crm_dates(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle
) -> None:
    acts = ScanActivities(db, None, secret_key)  # type: ignore[arg-type]
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    await ActivityEnvironment().run(acts.sync_customers, TenantScanInput(tenant_id=tid, run_date=AS_OF))
    async with db.tenant(tid) as conn:  # a CRM's close dates, as read_crm_renewals stores them, then select_due's order
        ids = [r["id"] for r in await conn.fetch("select id from customers where status = 'active' order by id")]
        crm = {cid: AS_OF + dt.timedelta(days=30 + n % 40) for n, cid in enumerate(ids[:50])}
        await customers.set_crm_renewal_dates(conn, tid, "hubspot", dict(crm))
        await apply_renewal_order(conn, tid, RenewalRule())
        before = await conn.fetch("select id, renewal_date, billing, updated_at from customers order by id")
    day2 = TenantScanInput(tenant_id=tid, run_date=AS_OF + dt.timedelta(days=1))
    await ActivityEnvironment().run(acts.sync_customers, day2)
    async with db.tenant(tid) as conn:
        after = await conn.fetch("select id, renewal_date, billing, updated_at from customers order by id")
    assert after == before  # not one row written: the CRM's dates were not swapped for Stripe's and back
    assert {r["id"]: r["renewal_date"] for r in after if r["id"] in crm} == crm  # the CRM comes first by default


async def test_the_crm_read_after_the_sync_asks_only_for_customers_whose_links_changed(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle
) -> None:
    acts = ScanActivities(db, None, secret_key)  # type: ignore[arg-type]
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    async with db.tenant(tid) as conn:
        await tenants.put_connector(
            conn, tid, "hubspot", encrypt(secret_key, sandbox.keys["hubspot"]), {"api_base": sandbox.hubspot_host}
        )

    async def day(n: int) -> tuple[int, int]:
        """The day's sync, then the changed links' read: (customers with a date from it, HubSpot requests)."""
        inp = TenantScanInput(tenant_id=tid, run_date=AS_OF + dt.timedelta(days=n))
        await ActivityEnvironment().run(acts.sync_customers, inp)
        sandbox.reset()
        dated = await ActivityEnvironment().run(acts.read_crm_renewal_changes, inp, "hubspot")
        return dated, sum(sandbox.request_counts("hubspot").values())

    first, first_calls = await day(0)  # every paying customer is new: the whole read
    async with db.tenant(tid) as conn:
        dates = dict(await conn.fetch("select id, crm_renewal_date from customers where crm_renewal_date is not null"))
    assert first == len(dates) > 100 and first_calls > 2
    assert await day(1) == (0, 0)  # nothing changed: no vendor call
    moved = next(iter(dates))
    async with db.tenant(tid) as conn:  # its link as yesterday's sync stored it differed from Stripe's today
        await conn.execute("update customers set links = '{}' where id = $1", moved)
        await conn.execute("update customers set crm_renewal_date = null where id = $1", moved)
    dated, calls = await day(2)
    async with db.tenant(tid) as conn:
        again = await conn.fetchval("select crm_renewal_date from customers where id = $1", moved)
    assert (dated, again) == (1, dates[moved]) and 0 < calls <= 2 < first_calls  # its associations and deals
    async with db.tenant(tid) as conn:  # a list kept for another day says nothing about this one: the whole read
        assert await sources.changed_links(conn, AS_OF + dt.timedelta(days=3)) is None


@pytest.mark.usefixtures("workers")
async def test_a_scan_reads_the_crm_beside_the_customer_sync_and_then_only_the_changed_links(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, sandbox: SandboxHandle
) -> None:
    """Through the workflow on the real stack: the invoice list and the CRM's dates start with the customer sync,
    not after it, and the changed links' read follows the sync; the due set is frozen after all of them."""
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    async with db.tenant(tid) as conn:
        await tenants.put_connector(
            conn, tid, "hubspot", encrypt(secret_key, sandbox.keys["hubspot"]), {"api_base": sandbox.hubspot_host}
        )
        await conn.execute("update tenant_settings set window_max_days = 40")  # one chunk: a short scan
    wid = await start_scan(client, tid, AS_OF)
    result = await client.get_workflow_handle(wid, result_type=TenantScanResult).result()
    events = (await client.get_workflow_handle(wid).fetch_history()).events
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    done = {
        scheduled[e.activity_task_completed_event_attributes.scheduled_event_id]: e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    }
    first = {name: min(i for i, n in scheduled.items() if n == name) for name in set(scheduled.values())}
    assert result.due > 0
    assert first["sync_invoices"] < done["sync_customers"] and first["read_crm_renewals"] < done["sync_customers"]
    assert first["read_crm_renewal_changes"] > done["sync_customers"]
    assert first["select_due"] > max(done["read_crm_renewal_changes"], done["sync_invoices"])
    await record_history(client, wid, "tenant_scan_whole_tenant_reads_side_by_side")
