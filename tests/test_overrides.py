"""Operator overrides on the real stack (issue 18): set and cleared over HTTP, written to the diary and the audit log;
a real scan still records its own verdict beside a holding override, which decides the draft; an override lapses on
its date, or early on a new strong signal, and the operator who set it is told on the tenant's on-call webhook."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from api.overrides import today
from api.scans import start_scan
from core.overrides import STRONG
from db.pool import Database
from schemas.workflow_io import TenantScanResult
from tests import factories
from tests.conftest import AS_OF, create_tenant, manifest_key
from tests.test_api import Webhook

pytestmark = pytest.mark.usefixtures("workers")
NEXT = AS_OF + dt.timedelta(days=1)
BOTH_RUNS = "c.renewal_date between $1::date + 15 and $1::date + 90"  # due on AS_OF and on NEXT


async def scan(client: Client, tenant: str, day: dt.date) -> TenantScanResult:
    wid = await start_scan(client, tenant, day)
    return await client.get_workflow_handle(wid, result_type=TenantScanResult).result()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scanned(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: Any, workspace: Path, client: Client
) -> AsyncIterator[tuple[str, Webhook]]:
    """A sandbox tenant scanned once on AS_OF, its on-call webhook on a local receiver."""
    hook = Webhook()
    server = await asyncio.start_server(hook.handle, "127.0.0.1", 0)
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )
    async with db.tenant(tid) as conn:
        await conn.execute(
            "update tenant_settings set oncall_webhook = $1", f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        )
    await scan(client, tid, AS_OF)
    yield tid, hook
    server.close()


def http(api_url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


async def audit_actions(db: Database, tid: str, customer_id: str, after: int = 0) -> list[str]:
    """The customer's override lines in the audit log, after line `after` (the module's tests share a tenant, and
    the other test may have picked the same customer)."""
    async with db.tenant(tid) as conn:
        return [
            r["action"]
            for r in await conn.fetch(
                "select action from audit_log where subject = $1 and action like 'override.%' and id > $2 order by id",
                customer_id,
                after,
            )
        ]


async def test_an_override_is_set_shown_and_cleared_over_http(
    scanned: tuple[str, Webhook], db: Database, api_url: str
) -> None:
    tid, _ = scanned
    async with db.tenant(tid) as conn:
        cid = await conn.fetchval("select customer_id from classifications where run_date = $1 limit 1", AS_OF)
        scan_verdict = await conn.fetchval("select classification from classifications where customer_id = $1", cid)
    token = await factories.token(db, tid, name="dana")
    expires = today() + dt.timedelta(days=30)
    async with http(api_url, token) as h:
        url = f"/v1/customers/{cid}/override"
        for bad in (
            {"verdict": "standard", "reason": "  ", "expires": expires.isoformat()},
            {"verdict": "standard", "expires": expires.isoformat()},
            {"verdict": "standard", "reason": "x", "expires": (today() + dt.timedelta(days=91)).isoformat()},
            {"verdict": "standard", "reason": "x", "expires": today().isoformat()},
            {"verdict": "great", "reason": "x", "expires": expires.isoformat()},
        ):
            assert (await h.post(url, json=bad)).status_code == 422, bad
        assert (await h.post("/v1/customers/cus_nobody/override", json={})).status_code in (404, 422)
        body = {"verdict": "hold_standard", "reason": "renewal already verbally agreed", "expires": expires.isoformat()}
        r = await h.post(url, json=body)
        assert r.status_code == 201, r.text
        state = r.json()
        assert state["holds"] and state["override"]["set_by"] == "dana" and state["effective"] == "standard"
        assert state["scan_verdict"] == scan_verdict and state["agrees"] == (scan_verdict == "standard")
        assert (await h.get(url)).json() == state
        diary = (await h.get(f"/v1/customers/{cid}/diary")).json()
        assert diary[0]["kind"] == "override.set" and "renewal already verbally agreed" in diary[0]["paragraph"]
        assert diary[0]["actor"] == "dana" and any(e["kind"] == "run" for e in diary)
        cleared = await h.delete(url)
        assert cleared.status_code == 200 and cleared.json()["override"] is None and not cleared.json()["holds"]
        assert cleared.json()["history"][0]["end_reason"] == "cleared"
        assert (await h.delete(url)).status_code == 409
        kinds = [e["kind"] for e in (await h.get(f"/v1/customers/{cid}/diary")).json()]
        assert kinds[:2] == ["override.cleared", "override.set"]
    assert await audit_actions(db, tid, cid) == ["override.set", "override.cleared"]
    admin = await factories.token(db, tid, "admin")
    async with http(api_url, admin) as h:
        lines = [json.loads(x) for x in (await h.get("/v1/audit")).text.splitlines()]
    assert [x["actor"] for x in lines if x["subject"] == cid and x["action"].startswith("override.")] == ["dana"] * 2


async def test_an_override_holds_lapses_on_its_date_and_early_on_a_new_strong_signal(
    scanned: tuple[str, Webhook], db: Database, owner: asyncpg.Connection, api_url: str, client: Client
) -> None:
    tid, hook = scanned
    async with db.tenant(tid) as conn:
        drafted = await conn.fetch(
            f"""select d.customer_id from drafts d join customers c on c.id = d.customer_id
                where d.run_date = $1 and d.kind = 'save' and {BOTH_RUNS} order by d.customer_id""",
            AS_OF,
        )
        strong = await conn.fetch(
            f"""select e.customer_id from evidence e join customers c on c.id = e.customer_id,
                   jsonb_array_elements(e.items) i
                where e.run_date = $1 and i ->> 'kind' = any($2::text[]) and {BOTH_RUNS} order by e.customer_id""",
            AS_OF,
            sorted(STRONG),
        )
    with_signal = strong[0]["customer_id"]
    held, dated = [r["customer_id"] for r in drafted if r["customer_id"] != with_signal][:2]
    token = await factories.token(db, tid, name="sam")
    async with db.tenant(tid) as conn:
        audited = await conn.fetchval("select coalesce(max(id), 0) from audit_log")
    expires = (today() + dt.timedelta(days=60)).isoformat()
    async with http(api_url, token) as h:
        for cid, verdict, reason in (
            (held, "hold_standard", "renewal already verbally agreed"),
            (dated, "standard", "the champion left but their replacement is engaged"),
            (with_signal, "standard", "procurement is slow, not unhappy"),
        ):
            r = await h.post(
                f"/v1/customers/{cid}/override", json={"verdict": verdict, "reason": reason, "expires": expires}
            )
            assert r.status_code == 201, r.text
    # As if set long ago: one reaches its date on the next run; the other was set before its strong signal appeared.
    await owner.execute(
        "update overrides set expires_on = $2 where tenant_id = $1 and customer_id = $3", tid, NEXT, dated
    )
    await owner.execute(
        "update overrides set known_signals = '{}' where tenant_id = $1 and customer_id = $2", tid, with_signal
    )
    # Every account is read again on the next run (carry-forward off): the first run's draft for `dated` would
    # otherwise stand for its unchanged evidence, and the lapse would show in no new draft.
    await owner.execute("update tenant_settings set carry_forward_days = 0 where tenant_id = $1", tid)
    # The first scan was "yesterday": the due set leaves out a customer scanned in the last 23 hours.
    await owner.execute("update customers set last_scanned_at = now() - interval '1 day' where tenant_id = $1", tid)
    await scan(client, tid, NEXT)
    async with db.tenant(tid) as conn:
        rows = {
            r["customer_id"]: r
            for r in await conn.fetch(
                "select customer_id, classification, factors from classifications where run_date = $1", NEXT
            )
        }
        next_drafts = {r[0] for r in await conn.fetch("select customer_id from drafts where run_date = $1", NEXT)}
        paragraph = await conn.fetchval(
            "select paragraph from diary_entries where customer_id = $1 and run_date = $2", held, NEXT
        )
        ended = dict(
            await conn.fetch(
                "select customer_id, end_reason from overrides where ended_at is not null and set_by = 'sam'"
            )
        )
    # Holds: the scan judged the account itself (still a save case), the override withheld its draft.
    assert rows[held]["classification"] in ("at_risk", "likely_churn")
    assert held not in next_drafts and dated in next_drafts
    assert any("Override by sam holds" in n for n in rows[held]["factors"]["notes"])
    assert "Override by sam holds" in paragraph and "Since 2026-11-22" in paragraph
    async with http(api_url, token) as h:
        state = (await h.get(f"/v1/customers/{held}/override")).json()
        assert (
            state["holds"]
            and state["scan_verdict"] == rows[held]["classification"]
            and state["effective"] == "standard"
        )
        assert state["agrees"] is False
        lapsed = (await h.get(f"/v1/customers/{dated}/override")).json()
        assert lapsed["override"] is None and lapsed["history"][0]["end_reason"] == "expired"
        assert (await h.get(f"/v1/customers/{dated}/diary")).json()[0]["kind"] == "override.lapsed"
    # Lapses: on its date, and early on the strong signal; each told to sam on the on-call webhook, once.
    assert ended[dated] == "expired" and ended[with_signal].startswith("strong_signal: ")
    assert held not in ended
    told = [m["text"] for m in hook.received if "for sam:" in m["text"]]
    assert sorted(t.split(" on ")[1].split(" ")[0] for t in told) == sorted([dated, with_signal])
    assert await audit_actions(db, tid, with_signal, audited) == ["override.set", "override.lapsed"]
