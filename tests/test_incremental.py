"""Fewer vendor calls and incremental evidence (issue #14): the tenant's Stripe invoices from one paginated list
kept in PostgreSQL with a cursor, read by every chunk there. Activities run directly (Temporal's
ActivityEnvironment) against the real database and the vendor sandbox through the real SDKs."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.testing import ActivityEnvironment

from activities.scan import STRIPE_WINDOWS, ScanActivities
from connectors.slack import due_for_read
from connectors.stripe import HISTORY_DAYS
from core.secrets import encrypt
from db import sources, tenants
from db.pool import Database
from sandbox.server import SandboxHandle, requests_per_customer
from schemas.workflow_io import ChunkRef, TenantScanInput
from tests.conftest import AS_OF, create_tenant


def acts(db: Database, secret_key: str) -> ScanActivities:
    # No Temporal client: these activities read vendors and PostgreSQL only (approvals are not started here).
    return ScanActivities(db, None, secret_key, chunk_size=1000)  # type: ignore[arg-type]


async def scan_stripe(acts: ScanActivities, tid: str, day: dt.date, *, tenant_list: bool) -> dict[str, Any]:
    """A scan's Stripe steps for one day; the chunk's evidence, per customer."""
    env, inp = ActivityEnvironment(), TenantScanInput(tenant_id=tid, run_date=day)
    await env.run(acts.sync_customers, inp)
    if tenant_list:
        await env.run(acts.sync_invoices, inp)
    plan = await env.run(acts.select_due, inp)
    for chunk_no in plan.chunks:
        await env.run(acts.gather_stripe, ChunkRef(tenant_id=tid, run_date=day, chunk_no=chunk_no))
    async with acts.db.tenant(tid) as conn:
        rows = await conn.fetch("select customer_id, items, error from evidence where source = 'stripe'")
    return {r["customer_id"]: (r["items"], r["error"]) for r in rows}


def invoice_calls(sandbox: SandboxHandle) -> int:
    return sum(n for path, n in sandbox.request_counts("stripe").items() if path.startswith("GET /v1/invoices"))


async def test_one_tenant_wide_invoice_list_gives_the_same_evidence_in_far_fewer_calls(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle, workspace: Path
) -> None:
    a = acts(db, secret_key)
    per_customer = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    tenant_wide = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    sandbox.reset()
    old = await scan_stripe(a, per_customer, AS_OF, tenant_list=False)
    old_calls = invoice_calls(sandbox)
    sandbox.reset()
    new = await scan_stripe(a, tenant_wide, AS_OF, tenant_list=True)
    new_calls = invoice_calls(sandbox)
    customers = len(new)
    assert new == old and customers > 20  # the same evidence, customer by customer (the due ones)
    since = dt.datetime.combine(AS_OF - dt.timedelta(days=HISTORY_DAYS), dt.time(), dt.UTC).timestamp()
    invoices = json.loads((workspace / "stripe" / "invoices.json").read_text())
    in_window = sum(1 for i in invoices if i["created"] >= since)
    assert old_calls >= customers  # one list (at least) per customer
    # 100 a page, the tenant's invoices once: read in STRIPE_WINDOWS created windows side by side, each window's last
    # page may be a short one
    assert math.ceil(in_window / 100) <= new_calls <= math.ceil(in_window / 100) + STRIPE_WINDOWS - 1
    per = requests_per_customer(sandbox.request_counts(), customers)["stripe"]
    assert per < 0.5, per  # customers, subscriptions and invoices: a few pages for the whole tenant


async def test_the_next_days_read_starts_at_the_oldest_unsettled_invoice_and_heals_a_stale_copy(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle
) -> None:
    a = acts(db, secret_key)
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    sandbox.reset()
    await ActivityEnvironment().run(a.sync_invoices, TenantScanInput(tenant_id=tid, run_date=AS_OF))
    day_one_calls = invoice_calls(sandbox)
    async with db.tenant(tid) as conn:
        unsettled = await conn.fetchval(
            "select min(created) from stripe_invoices where status = any($1::text[])", list(sources.UNSETTLED)
        )
        paid = await conn.fetchrow(
            """select invoice_id, body from stripe_invoices
                where status = 'paid' and created > $1 order by created limit 1""",
            unsettled,
        )
        # A webhook lost on the way: the stored copy says open, Stripe says paid.
        await conn.execute(
            "update stripe_invoices set status = 'open', body = $2 where invoice_id = $1",
            paid["invoice_id"],
            paid["body"] | {"status": "open"},
        )
        stale = await conn.fetchval(
            "select min(created) from stripe_invoices where status = any($1::text[])", list(sources.UNSETTLED)
        )
    sandbox.reset()
    await ActivityEnvironment().run(a.sync_invoices, TenantScanInput(tenant_id=tid, run_date=AS_OF + dt.timedelta(1)))
    async with db.tenant(tid) as conn:
        healed = await conn.fetchrow(
            "select status, body from stripe_invoices where invoice_id = $1", paid["invoice_id"]
        )
        cursor = await sources.cursor(conn, sources.STRIPE_INVOICES)
    assert (healed["status"], healed["body"]["status"]) == ("paid", "paid")
    assert cursor == (str(stale), AS_OF + dt.timedelta(1))
    assert invoice_calls(sandbox) < day_one_calls  # only what may have changed since, not 180 days again


def history_calls(sandbox: SandboxHandle) -> int:
    return sum(n for path, n in sandbox.request_counts("slack").items() if path.endswith("/conversations.history"))


async def test_slack_is_read_from_each_channels_cursor_and_with_events_on_only_on_its_sweep_day(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle
) -> None:
    a = ScanActivities(db, None, secret_key, chunk_size=1000, connector_rps={"slack": 1000})  # type: ignore[arg-type]
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=sandbox.stripe_api_base
    )
    async with db.tenant(tid) as conn:
        await tenants.put_connector(
            conn, tid, "slack", encrypt(secret_key, sandbox.keys["slack"]), {"api_base": sandbox.slack_base_url}
        )
    env, inp = ActivityEnvironment(), TenantScanInput(tenant_id=tid, run_date=AS_OF)
    await env.run(a.sync_customers, inp)
    plan = await env.run(a.select_due, inp)
    ref = ChunkRef(tenant_id=tid, run_date=AS_OF, chunk_no=plan.chunks[0])

    async def gather() -> tuple[dict[str, Any], int]:
        sandbox.reset()
        await env.run(a.gather_source, ref, "slack")
        async with db.tenant(tid) as conn:
            rows = await conn.fetch("select customer_id, items, error from evidence where source = 'slack'")
        return {r["customer_id"]: (r["items"], r["error"]) for r in rows}, history_calls(sandbox)

    first, first_calls = await gather()
    async with db.tenant(tid) as conn:
        marks = await sources.read_marks(conn, "slack:")
        kept = await conn.fetchval("select count(*) from slack_messages")
    assert len(marks) >= 20 and kept > 0 and first_calls >= len(marks)
    # Day two without events: one call per channel from its cursor (nothing new since), the evidence from what is
    # kept. (Not always day one's: users.info records asked for any channel are kept, so a poster without a team
    # stamp here may be known now from another channel.)
    again, again_calls = await gather()
    assert again_calls == len(marks) and set(again) == set(first)
    assert await gather() == (again, again_calls)  # and stable from then on
    # With Slack's events flowing, a channel is read only on its sweep day; the others come from PostgreSQL.
    async with db.tenant(tid) as conn:
        await sources.set_cursor(conn, tid, sources.SLACK_EVENTS, "1", AS_OF)
    swept, swept_calls = await gather()
    due = [c for c, (_, read_on) in marks.items() if due_for_read(c, read_on, AS_OF, events_on=True)]
    assert swept == again and swept_calls == len(due) < len(marks) / 3
