"""Vendor pacing shared by every worker process (issue #14): the pace each tenant gets (pure), the slot claimed
in PostgreSQL, and two real worker processes holding one tenant's pace, measured at the vendor sandbox."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from slack_sdk.errors import SlackApiError

from activities.pacing import SharedPace
from api.setup import ConnectBody, pace_config
from connectors.slack import SlackSource
from core import pacing as rules
from core.secrets import encrypt
from db import pacing, tenants
from db.pool import Database
from sandbox.server import SandboxHandle, start_sandbox
from tests.conftest import AS_OF, create_tenant, eventually


def test_pace_is_the_documented_limit_times_the_safety_factor() -> None:
    assert rules.requests_per_second("stripe", "rk_test_abc", {}) == 22.5  # Stripe test mode: 25/s
    assert rules.requests_per_second("stripe", "sk_live_abc", {}) == 90.0  # live mode: 100/s
    assert rules.requests_per_second("stripe", "sk_live_abc", {"mode": "test"}) == 22.5
    assert rules.requests_per_second("slack", "xoxb", {}) == 0.75  # Tier 3: 50 a minute
    assert rules.requests_per_second("slack", "xoxb", {"tier": 2}) == 0.3
    assert rules.requests_per_second("hubspot", "pat", {}) == 9.0  # 100 per 10 s
    assert rules.requests_per_second("hubspot", "pat", {"tier": "professional"}) == 17.1
    assert rules.requests_per_second("salesforce", "s", {}) == 5.0
    assert rules.requests_per_second("slack", "xoxb", {"requests_per_second": 0.2}) == 0.2


async def test_claims_space_a_tenants_requests_and_leave_other_tenants_alone(
    owner: asyncpg.Connection, db: Database, secret_key: str
) -> None:
    a = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    b = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)

    async def claim(tid: str) -> tuple[float, float]:
        async with db.tenant(tid) as conn:
            return await pacing.claim_slot(conn, tid, "slack", 4.0)

    claims = await asyncio.gather(*(claim(a) for _ in range(8)))
    slots = sorted(slot for _, slot in claims)
    assert min(delay for delay, _ in claims) < 0.1  # the first may go at once
    # Eight slots a quarter second apart, however the eight claims happened to interleave on a busy machine.
    assert [round(later - earlier, 3) for earlier, later in zip(slots, slots[1:], strict=False)] == [0.25] * 7, slots
    assert (await claim(b))[0] < 0.1  # another tenant's app has its own limit
    async with db.tenant(b) as conn:  # and row-level security keeps each tenant to its own row
        assert [r["tenant_id"] for r in await conn.fetch("select tenant_id from vendor_pace")] == [b]


async def test_a_request_woken_late_takes_a_fresh_slot(
    owner: asyncpg.Connection, db: Database, secret_key: str
) -> None:
    """A worker's event loop is busy past a request's slot: sent then, it would land beside the next slot's request
    (the vendor counts arrivals). It gives the slot up and waits for the next free one instead."""
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    pace = SharedPace(db).pacer(tid, "hubspot", "pat", {"requests_per_second": 1.0})
    await pace()  # the row exists: the next slot is a second away (t0 + 1)
    task = asyncio.ensure_future(pace())

    async def waiting() -> bool:
        async with db.tenant(tid) as conn:
            return bool(await conn.fetchval("select next_at > clock_timestamp() + interval '1.2 s' from vendor_pace"))

    await eventually(waiting, interval=0.05)  # the second claim is made (slot t0 + 1): its request sleeps towards it
    time.sleep(1.6)  # noqa: ASYNC251 - on purpose: the loop is busy, as a starved worker's is, well past that slot
    woke = time.monotonic()
    await task
    waited = time.monotonic() - woke
    async with db.tenant(tid) as conn:
        ahead = await conn.fetchval("select extract(epoch from next_at - clock_timestamp()) from vendor_pace")
    # It did not go on waking: it claimed a third slot (t0 + 2), waited for it, and the one after is a second away.
    assert waited > 0.2, waited
    assert 0.5 < ahead <= 1.0, ahead


@pytest.fixture
def limited(workspace: Path) -> Iterator[SandboxHandle]:
    """A sandbox enforcing 10 requests/s on Stripe: a pace kept per process (two processes at 8/s) would meet 429s."""
    handle = start_sandbox(workspace, rate_limits={"stripe": 10})
    yield handle
    handle.stop()


@pytest.mark.stack  # two worker processes and the vendor sandbox, started here
async def test_two_worker_processes_together_hold_one_tenants_pace(
    owner: asyncpg.Connection, db: Database, owner_dsn: str, secret_key: str, workspace: Path, limited: SandboxHandle
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    config = {"api_base": limited.stripe_api_base, "requests_per_second": 8}
    async with db.tenant(tid) as conn:
        await tenants.put_connector(conn, tid, "stripe", encrypt(secret_key, limited.keys["stripe"]), config)
    customer = json.loads((workspace / "stripe" / "customers.json").read_text())[0]["id"]
    per_process = 16
    argv = [sys.executable, str(Path(__file__).with_name("pace_worker.py")), db.dsn or "", secret_key, tid, customer]
    procs = [
        await asyncio.create_subprocess_exec(
            *argv, str(per_process), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    try:
        for p in procs:  # both built their paced source (imports, a pool); now they read at once
            assert p.stdout is not None and (await asyncio.wait_for(p.stdout.readline(), 60)).strip() == b"ready"
        limited.reset_rps()
        started = time.monotonic()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(b"go\n")
            await p.stdin.drain()
        outs = [await asyncio.wait_for(p.communicate(), 60) for p in procs]
        took = time.monotonic() - started
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    assert [p.returncode for p in procs] == [0, 0], outs  # a 429 would have failed a list (SDK retries are off)
    seen = limited.observed_rps()["stripe"]
    assert seen["requests"] == 2 * per_process
    assert seen["max_rps"] <= 9, seen  # 8/s evenly spaced; one request's network jitter may add one
    assert took >= (2 * per_process - 1) / 8 - 0.1  # the two shared one pace, not one each


def test_a_tenant_sets_its_pace_when_it_connects() -> None:
    """PUT /v1/connectors/{kind} keeps the tier, mode or explicit pace in the connector's config, where the shared
    pace reads it; a key for another vendor's setting is not stored."""
    body = ConnectBody(key="xoxb-12345678", slack_tier=2, stripe_mode="live")
    assert pace_config("slack", body) == {"tier": 2}
    assert rules.requests_per_second("slack", body.key, pace_config("slack", body)) == 0.3
    assert pace_config("stripe", ConnectBody(key="rk_test_12345678", stripe_mode="live")) == {"mode": "live"}
    assert pace_config("hubspot", ConnectBody(key="pat-12345678", requests_per_second=4)) == {"requests_per_second": 4}


async def test_a_429_holds_the_tenants_pace_for_every_process(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle
) -> None:
    """Slack refuses one request (Retry-After: 3): the SDK's handler waits and retries it, and the shared row holds
    every other request of the tenant (another process's, here a claim made afterwards) for as long."""
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    shared = SharedPace(db, {"slack": 100.0})
    source = SlackSource(
        sandbox.keys["slack"],
        sandbox.slack_base_url,
        pace=shared.pacer(tid, "slack", sandbox.keys["slack"], {}),
        hold=shared.holder(tid, "slack"),
    )
    sandbox.reset()
    sandbox.add_fault("slack", "/conversations.history", status=429, times=1, retry_after=3)
    started = time.monotonic()
    async with db.tenant(tid) as conn:
        await pacing.claim(conn, tid, "slack", 100.0)  # the row exists, as after any earlier request
    task = asyncio.ensure_future(source.history("C0NOSUCH", AS_OF))

    async def refused() -> bool:
        return sum(sandbox.request_counts("slack").values()) >= 1

    await eventually(refused)
    await eventually(lambda: _held(db, tid))
    async with db.tenant(tid) as conn:
        wait = await pacing.claim(conn, tid, "slack", 100.0)
    with pytest.raises(SlackApiError, match="channel_not_found"):  # the retry reached Slack, which answered
        await task
    assert wait >= 3 - (time.monotonic() - started) - 0.5, wait
    assert sum(sandbox.request_counts("slack").values()) == 2  # refused once, retried once


async def _held(db: Database, tid: str) -> bool:
    async with db.tenant(tid) as conn:
        return bool(await conn.fetchval("select next_at > clock_timestamp() + interval '1 second' from vendor_pace"))
