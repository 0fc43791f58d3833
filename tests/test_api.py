"""The operator API against the real app, dev server and Postgres: tenant isolation on every endpoint, auth,
settings, edits that must still trace to the evidence, exports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from api.scans import start_scan
from db import tenants
from db.pool import Database
from schemas.workflow_io import TenantScanResult
from tests.conftest import AS_OF, create_tenant, manifest_key

pytestmark = pytest.mark.usefixtures("workers")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two_tenants(owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: object, workspace: Path,
                      client: Client, workers: None) -> AsyncIterator[dict[str, dict[str, str]]]:
    """Two scanned tenants on the same workspace, with an operator and an admin token each."""
    out: dict[str, dict[str, str]] = {}
    for name in ("a", "b"):
        tid = await create_tenant(owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"),
                                  stripe_base=sandbox.stripe_api_base)  # type: ignore[attr-defined]
        wid = await start_scan(client, tid, AS_OF)
        await client.get_workflow_handle(wid, result_type=TenantScanResult).result()
        async with db.tenant(tid) as conn:
            out[name] = {"id": tid, "operator": await tenants.create_token(conn, tid, "operator", f"op-{name}"),
                         "admin": await tenants.create_token(conn, tid, "admin", f"admin-{name}")}
    yield out


def http(api_url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def test_no_endpoint_reveals_another_tenants_rows(two_tenants: dict[str, dict[str, str]], api_url: str) -> None:
    a, b = two_tenants["a"], two_tenants["b"]
    async with http(api_url, a["admin"]) as ha:
        draft = (await ha.get("/v1/drafts")).json()["items"][0]
        customer = draft["customer_id"]
        assert (await ha.get(f"/v1/customers/{customer}/diary")).status_code == 200
    async with http(api_url, b["admin"]) as hb:
        own = {d["id"] for d in (await hb.get("/v1/drafts")).json()["items"]}
        assert draft["id"] not in own
        probes = [hb.get(f"/v1/drafts/{draft['id']}"), hb.post(f"/v1/drafts/{draft['id']}/send"),
                  hb.post(f"/v1/drafts/{draft['id']}/skip", json={"reason": "x"}),
                  hb.post(f"/v1/drafts/{draft['id']}/edit", json={"subject": "s", "body": "b"})]
        for r in [await p for p in probes]:
            assert r.status_code == 404, r.text   # not 403: B cannot even learn the draft exists
        audit = (await hb.get("/v1/audit")).text
        assert a["id"] not in audit and draft["id"] not in audit
        customers = {c["id"] for c in (await hb.get("/v1/customers?limit=500")).json()}
        # The same Stripe workspace, so the same customer ids exist in both tenants — as separate rows.
        diary_b = (await hb.get(f"/v1/customers/{customer}/diary")).json()
        assert customer in customers and all(e["run_date"] == AS_OF.isoformat() for e in diary_b)


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nope", "Basic abc", "Bearer rm_x_revoked"])
async def test_missing_malformed_or_unknown_tokens_get_401(api_url: str, header: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as h:
        r = await h.get("/v1/drafts", headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")


async def test_an_expired_token_gets_401(two_tenants: dict[str, dict[str, str]], api_url: str, db: Database) -> None:
    tid = two_tenants["a"]["id"]
    async with db.tenant(tid) as conn:
        token = await tenants.create_token(conn, tid, "operator", "short-lived", expires_in_days=1)
    async with http(api_url, token) as h:
        assert (await h.get("/v1/drafts")).status_code == 200
        async with db.tenant(tid) as conn:
            await conn.execute("update api_tokens set expires_at = now() - interval '1 second' where token_hash = $1",
                               tenants.hash_token(token))
        r = await h.get("/v1/drafts")
        assert r.status_code == 401 and r.json()["type"].endswith("/unauthorized")


async def test_a_revoked_token_stops_working(two_tenants: dict[str, dict[str, str]], api_url: str,
                                             db: Database) -> None:
    tid = two_tenants["a"]["id"]
    async with db.tenant(tid) as conn:
        token = await tenants.create_token(conn, tid, "operator", "temp")
        await conn.execute("update api_tokens set revoked_at = now() where token_hash = $1", tenants.hash_token(token))
    async with http(api_url, token) as h:
        assert (await h.get("/v1/drafts")).status_code == 401


async def test_settings_weights_must_sum_to_one_and_changes_are_audited(
        two_tenants: dict[str, dict[str, str]], api_url: str) -> None:
    a = two_tenants["a"]
    async with http(api_url, a["operator"]) as op:
        current = (await op.get("/v1/settings")).json()
        assert sum(current["weights"].values()) == pytest.approx(1.0)
        assert (await op.put("/v1/settings", json=current)).status_code == 403   # operators do not change settings
    async with http(api_url, a["admin"]) as admin:
        bad = current | {"weights": current["weights"] | {"payment_history": 0.9}}
        r = await admin.put("/v1/settings", json=bad)
        assert r.status_code == 422 and "sum to 1.0" in r.json()["detail"]
        out_of_range = current | {"weights": current["weights"] | {"payment_history": 1.5}}
        assert (await admin.put("/v1/settings", json=out_of_range)).status_code == 422
        good = current | {"weights": {"payment_history": 0.4, "usage_trend": 0.3, "champion_status": 0.2,
                                      "support_sentiment": 0.1}, "daily_cost_cap_usd": 0.02}
        r = await admin.put("/v1/settings", json=good)
        assert r.status_code == 200 and r.json()["weights"]["payment_history"] == 0.4
        lines = [json.loads(x) for x in (await admin.get("/v1/audit?format=jsonl")).text.splitlines()]
        change = [x for x in lines if x["action"] == "settings.changed"][-1]
        assert change["detail"]["daily_cost_cap_usd"] == {"from": 0.05, "to": 0.02}
        rows = list(csv.DictReader(io.StringIO((await admin.get("/v1/audit?format=csv")).text)))
        assert len(rows) == len(lines) and rows[-1]["action"] == "settings.changed"


async def test_an_edit_must_still_trace_to_the_evidence(two_tenants: dict[str, dict[str, str]], api_url: str) -> None:
    async with http(api_url, two_tenants["b"]["operator"]) as h:
        draft = (await h.get("/v1/drafts")).json()["items"][0]
        detail = (await h.get(f"/v1/drafts/{draft['id']}")).json()
        invented = await h.post(f"/v1/drafts/{draft['id']}/edit",
                                json={"subject": detail["subject"], "body": detail["body"] + "\nWe noticed 9876 errors."})
        assert invented.status_code == 422 and "9876" in invented.text
        unknown = await h.post(f"/v1/drafts/{draft['id']}/edit",
                               json={"subject": detail["subject"], "body": "See stripe:in_doesnotexist."})
        assert unknown.status_code == 422 and "stripe:in_doesnotexist" in unknown.text
        ok = await h.post(f"/v1/drafts/{draft['id']}/edit",
                          json={"subject": "A shorter subject", "body": detail["body"].replace("Hello,", "Hi there,")})
        assert ok.status_code == 200 and ok.json()["outcome"] == "edited"
        assert (await h.get(f"/v1/drafts/{draft['id']}")).json()["subject"] == "A shorter subject"


async def test_inbox_filters_and_validation_rate(two_tenants: dict[str, dict[str, str]], api_url: str) -> None:
    async with http(api_url, two_tenants["a"]["operator"]) as h:
        body = (await h.get("/v1/drafts?severity=HIGH&limit=200")).json()
        assert all(d["severity"] == "HIGH" for d in body["items"])
        big = (await h.get("/v1/drafts?min_arr_usd=50000&limit=200")).json()["items"]
        assert all(d["arr_usd"] >= 50000 for d in big)
        assert body["validation_failure_rate_24h"] == 0.0 and body["banner"] is None
        assert (await h.get("/v1/drafts?severity=SEVERE")).status_code == 422


async def test_a_stripe_key_is_checked_before_it_is_stored(two_tenants: dict[str, dict[str, str]], api_url: str,
                                                           sandbox: object, workspace: Path, db: Database) -> None:
    a = two_tenants["a"]
    base = sandbox.stripe_api_base  # type: ignore[attr-defined]
    async with http(api_url, a["operator"]) as op:
        assert (await op.put("/v1/connectors/stripe", json={"key": "rk_test_whatever", "api_base": base})
                ).status_code == 403
    async with http(api_url, a["admin"]) as admin:
        refused = await admin.put("/v1/connectors/stripe", json={"key": "rk_test_wrong_key", "api_base": base})
        assert refused.status_code == 422 and "credentials rejected" in refused.json()["detail"]
        ok = await admin.put("/v1/connectors/stripe", json={"key": manifest_key(workspace, "stripe"), "api_base": base})
        assert ok.status_code == 200 and ok.json()["status"] == "connected"
        listed = (await admin.get("/v1/connectors")).json()
        assert [c["kind"] for c in listed] == ["stripe"]
        assert manifest_key(workspace, "stripe") not in json.dumps(listed)
    async with db.tenant(a["id"]) as conn:   # stored encrypted, never in the clear
        sealed = await conn.fetchval("select secret_ciphertext from connectors where kind = 'stripe'")
    assert manifest_key(workspace, "stripe").encode() not in sealed


async def test_admins_create_list_and_revoke_tokens(two_tenants: dict[str, dict[str, str]], api_url: str) -> None:
    async with http(api_url, two_tenants["b"]["admin"]) as admin:
        created = await admin.post("/v1/tokens", json={"name": "night-shift", "role": "operator"})
        assert created.status_code == 201
        token = created.json()["token"]
        async with http(api_url, token) as night:
            assert (await night.get("/v1/drafts")).status_code == 200
            assert (await night.post("/v1/tokens", json={"name": "x"})).status_code == 403
            assert (await admin.delete("/v1/tokens/night-shift")).status_code == 204
            assert (await night.get("/v1/drafts")).status_code == 401
        assert (await admin.delete("/v1/tokens/night-shift")).status_code == 404


async def test_metrics_expose_what_on_call_watches(two_tenants: dict[str, dict[str, str]], api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as h:
        text = (await h.get("/metrics")).text
    a = two_tenants["a"]["id"]
    assert f'renewals_validation_failure_rate_24h{{tenant="{a}"}} 0.0' in text
    assert f'renewals_drafts_waiting{{tenant="{a}"}}' in text
    assert f'renewals_route_share{{route="TIER1",tenant="{a}"}}' in text


async def test_on_call_is_told_once_per_crossing_of_the_validation_rate(
        owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str) -> None:
    received: list[dict[str, str]] = []

    async def webhook(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(v for k, v in (ln.split(b":", 1) for ln in head.split(b"\r\n")[1:] if b":" in ln)
                          if k.strip().lower() == b"content-length"))
        received.append(json.loads(await reader.readexactly(length)))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(webhook, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)

    async def verdicts(n: int, demoted: bool, start: int) -> None:
        async with db.tenant(tid) as conn:
            await conn.executemany("""insert into classifications (tenant_id, customer_id, run_date, classification,
                severity, score, factors, cited_source_ids, recommended_action, abstain_reason, route, model)
                values ($1, $2, current_date, 'standard', 'LOW', 0, '{}', '{}', 'internal_alert', $3, 'TIER1', 'm')""",
                [(tid, f"cus_{start + i}", "source_validation_failed" if demoted else None) for i in range(n)])

    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set oncall_webhook = $1", f"http://127.0.0.1:{port}/hook")
        token = await tenants.create_token(conn, tid, "operator", "oncall-probe")
    async with http(api_url, token) as h:
        await verdicts(90, False, 0)
        await verdicts(10, True, 100)        # 10 % demoted: over the 5 % line
        first = (await h.get("/v1/drafts")).json()
        await h.get("/v1/drafts")             # still over: no second message
        assert first["banner"] and first["validation_failure_rate_24h"] == pytest.approx(0.10)
        assert len(received) == 1 and tid in received[0]["text"]
        await verdicts(200, False, 1000)      # diluted to 3.3 %: the alert clears
        assert (await h.get("/v1/drafts")).json()["banner"] is None
        await verdicts(40, True, 2000)        # back over: a new crossing, a new message
        await h.get("/v1/drafts")
    server.close()
    assert len(received) == 2


async def test_the_usage_connector_needs_its_query(two_tenants: dict[str, dict[str, str]], api_url: str) -> None:
    async with http(api_url, two_tenants["b"]["admin"]) as admin:
        dsn = "postgresql://reader:secret@127.0.0.1:9/product"
        assert (await admin.put("/v1/connectors/usage", json={"key": dsn})).status_code == 422
        ok = await admin.put("/v1/connectors/usage", json={"key": dsn, "query": "select 1"})
        assert ok.status_code == 200 and "secret" not in ok.text
