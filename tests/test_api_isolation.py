"""Tenant isolation, at both ends: every API route tried with another tenant's IDs answers 404 (never 403: B must
not even learn that A's row exists) and leaves A's rows as they were; and underneath, row-level security binds the
app's own non-superuser role on every tenant-owned table, whatever the query asks for."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus

from api.app import create_app
from db import reports, slack, tenants
from db.pool import APP_ROLE, Database
from tests import factories
from tests.conftest import create_tenant
from workers.stack import SmtpSink

pytestmark = pytest.mark.usefixtures("workers")
RUN_A = dt.date(2026, 11, 18)  # a scan run only tenant A has
A_ERROR_REFERENCE = "usage-a0a0a0a0a0a0"  # a usage connector error only tenant A has


@dataclass
class Pair:
    a: str
    b: str
    draft: factories.Draft  # A's, waiting in its real ApprovalWorkflow
    a_token_name: str
    a_operator: str
    b_admin: str
    b_draft: factories.Draft


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pair(owner: asyncpg.Connection, db: Database, secret_key: str, client: Client) -> Pair:
    a = await create_tenant(owner, db, secret_key, stripe_key="rk_a_secret_key", stripe_base="http://127.0.0.1:9")
    b = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    draft = await factories.waiting_draft(db, client, a)
    await factories.completed_run(db, a, RUN_A, {"TIER1": 7, "TIER2": 2, "TIER3": 1})
    async with db.tenant(a) as conn:
        await tenants.audit(conn, a, "test", "probe.a_only", draft.id, {"secret": "a-only-detail"})
        await slack.map_user(conn, a, "UAONLY1", "a-night-shift")
        await tenants.audit(
            conn, a, "worker", "connector.error", A_ERROR_REFERENCE, {"kind": "usage", "error": "a-only driver text"}
        )
        await reports.save(
            conn,
            a,
            "briefing",
            RUN_A,
            {"counts": {"hot": 1, "warm": 0, "cold": 0}},
            f"a-only briefing for {a}",
            [],
            "#fde",
        )
    return Pair(
        a=a,
        b=b,
        draft=draft,
        a_token_name="a-night-shift",
        a_operator=await factories.token(db, a, "operator", "a-night-shift"),
        b_admin=await factories.token(db, b, "admin", "b-admin"),
        b_draft=await factories.waiting_draft(db, client, b),
    )


def probes(p: Pair) -> dict[tuple[str, str], list[tuple[str, dict[str, object] | None]]]:
    """Every route that takes an ID, filled with tenant A's IDs. A new route with a path parameter must be added
    here (the test below fails until it is)."""
    d = p.draft
    expires = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
    override = {"verdict": "hold_standard", "reason": "not yours", "expires": expires}
    return {
        ("GET", "/v1/drafts/{draft_id}"): [(f"/v1/drafts/{d.id}", None)],
        ("POST", "/v1/drafts/{draft_id}/send"): [(f"/v1/drafts/{d.id}/send", None)],
        ("POST", "/v1/drafts/{draft_id}/edit"): [(f"/v1/drafts/{d.id}/edit", {"subject": d.subject, "body": d.body})],
        ("POST", "/v1/drafts/{draft_id}/skip"): [(f"/v1/drafts/{d.id}/skip", {"reason": "not yours"})],
        ("POST", "/v1/drafts/{draft_id}/undo"): [(f"/v1/drafts/{d.id}/undo", None)],
        ("POST", "/v1/drafts/{draft_id}/resolve"): [(f"/v1/drafts/{d.id}/resolve", {"outcome": "delivered"})],
        ("GET", "/v1/customers/{customer_id}/diary"): [(f"/v1/customers/{d.customer_id}/diary", None)],
        ("GET", "/v1/customers/{customer_id}/changes"): [(f"/v1/customers/{d.customer_id}/changes", None)],
        ("GET", "/v1/customers/{customer_id}/override"): [(f"/v1/customers/{d.customer_id}/override", None)],
        ("POST", "/v1/customers/{customer_id}/override"): [(f"/v1/customers/{d.customer_id}/override", override)],
        ("DELETE", "/v1/customers/{customer_id}/override"): [(f"/v1/customers/{d.customer_id}/override", None)],
        ("GET", "/v1/scans/{run_date}"): [(f"/v1/scans/{RUN_A.isoformat()}", None)],
        ("DELETE", "/v1/tokens/{name}"): [(f"/v1/tokens/{p.a_token_name}", None)],
        ("GET", "/v1/reports/{kind}/{day}"): [(f"/v1/reports/briefing/{RUN_A.isoformat()}", None)],
        ("DELETE", "/v1/slack/operators/{slack_user_id}"): [("/v1/slack/operators/UAONLY1", None)],
        ("GET", "/v1/connectors/errors/{reference}"): [(f"/v1/connectors/errors/{A_ERROR_REFERENCE}", None)],
    }


# PUT /v1/connectors/{kind} takes a connector kind, not an ID: it only ever writes the caller's own tenant's row,
# which test_a_connector_put_writes_only_the_callers_tenant checks. POST /v1/reports/{kind}/run starts a report
# for the caller's own tenant, whose id comes from the token.
# POST /v1/slack/interactivity/{tenant_id} is Slack's: no token, its authority is the signature made with that
# tenant's signing secret (tests/test_slack_approvals.py refuses forged ones). So are the webhooks at
# /v1/webhooks/{tenant_id}/slack and /stripe: Slack's and Stripe's, signed with that tenant's secrets
# (tests/test_webhooks.py refuses forged ones).
NOT_AN_ID = {
    ("PUT", "/v1/connectors/{kind}"),
    ("POST", "/v1/reports/{kind}/run"),
    ("POST", "/v1/slack/interactivity/{tenant_id}"),
    ("POST", "/v1/webhooks/{tenant_id}/slack"),
    ("POST", "/v1/webhooks/{tenant_id}/stripe"),
}


async def test_every_route_with_an_id_is_probed(pair: Pair, db: Database) -> None:
    paths = create_app(db, None).openapi()["paths"]  # every route in the API (the page and /metrics take no ID)
    templated = {(m.upper(), path) for path, ops in paths.items() if "{" in path for m in ops}
    assert templated - NOT_AN_ID == set(probes(pair)), "add the new route to probes() with another tenant's IDs"


async def test_another_tenants_ids_answer_404_and_change_nothing(
    pair: Pair, api_url: str, db: Database, client: Client, smtp: SmtpSink
) -> None:
    before = len(smtp.messages)
    async with httpx.AsyncClient(
        base_url=api_url, timeout=60, headers={"Authorization": f"Bearer {pair.b_admin}"}
    ) as hb:
        for (method, template), calls in probes(pair).items():
            for path, body in calls:
                r = await hb.request(method, path, json=body)
                assert r.status_code == 404, (template, r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                # The answer names nothing of A's but the ID B itself sent (draft IDs embed their tenant's).
                assert pair.a not in r.text.replace(path, "").replace(path.split("/")[3], ""), r.text
    async with db.tenant(pair.a) as conn:
        assert await conn.fetchval("select status from drafts where id = $1", pair.draft.id) == "pending"
        assert await conn.fetchval("select subject from drafts where id = $1", pair.draft.id) == pair.draft.subject
    desc = await client.get_workflow_handle(pair.draft.workflow_id).describe()
    assert desc.status == WorkflowExecutionStatus.RUNNING
    assert len(smtp.messages) == before
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {pair.a_operator}"}) as ha:
        assert (await ha.get("/v1/drafts")).status_code == 200  # B's DELETE did not revoke A's token


async def test_lists_and_exports_never_carry_another_tenants_rows(pair: Pair, api_url: str) -> None:
    a_marks = [
        pair.a,
        pair.draft.id,
        pair.draft.customer_id,
        "a-only-detail",
        pair.a_token_name,
        "rk_a_secret_key",
        "a-only driver text",
    ]
    async with httpx.AsyncClient(
        base_url=api_url, timeout=60, headers={"Authorization": f"Bearer {pair.b_admin}"}
    ) as hb:
        for path in (
            "/v1/drafts",
            "/v1/drafts?status=sent",
            "/v1/drafts?status=skipped",
            "/v1/customers?limit=500",
            "/v1/scans",
            "/v1/settings",
            "/v1/connectors",
            "/v1/tokens",
            "/v1/audit?format=jsonl",
            "/v1/audit?format=csv",
            "/v1/reports",
        ):
            r = await hb.get(path)
            assert r.status_code == 200, (path, r.text)
            assert not [m for m in a_marks if m in r.text], path
        own = (await hb.get("/v1/drafts")).json()
        assert [d["id"] for d in own["items"]] == [pair.b_draft.id] and own["total"] == 1
        entries = [json.loads(x) for x in (await hb.get("/v1/audit")).text.splitlines()]
        assert all(e["action"] != "probe.a_only" for e in entries)


async def test_a_connector_put_writes_only_the_callers_tenant(pair: Pair, api_url: str, db: Database) -> None:
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {pair.b_admin}"}) as hb:
        # usage: the worker checks the DSN without contacting it, so nothing leaves loopback
        r = await hb.put(
            "/v1/connectors/usage", json={"key": "postgresql://b@127.0.0.1:9/product", "query": "select 1"}
        )
        assert r.status_code == 200
        assert [c["kind"] for c in (await hb.get("/v1/connectors")).json()] == ["usage"]
    async with db.tenant(pair.a) as conn:
        assert [r["kind"] for r in await conn.fetch("select kind from connectors")] == ["stripe"]


# ---- underneath: row-level security on the app's own role ------------------------------------------------------------


async def tenant_owned_tables(owner: asyncpg.Connection) -> list[str]:
    return [
        r["table_name"]
        for r in await owner.fetch("""
        select table_name from information_schema.columns
         where table_schema = 'public' and column_name = 'tenant_id' order by table_name""")
    ]


async def test_every_tenant_owned_table_is_guarded_by_a_forced_policy(owner: asyncpg.Connection) -> None:
    tables = await tenant_owned_tables(owner)
    assert {
        "drafts",
        "classifications",
        "diary_entries",
        "audit_log",
        "api_tokens",
        "alert_state",
        "model_calls",
    } <= set(tables)
    rows = {
        r["relname"]: r
        for r in await owner.fetch(
            """
        select c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (select count(*) from pg_policies p where p.tablename = c.relname and p.schemaname = 'public') policies
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relname = any($1::text[])""",
            [*tables, "tenants"],
        )
    }
    unguarded = [
        t for t, r in rows.items() if not (r["relrowsecurity"] and r["relforcerowsecurity"] and r["policies"] >= 1)
    ]
    assert unguarded == [], f"tenant-owned tables without a forced RLS policy: {unguarded}"


async def test_the_app_role_is_neither_superuser_nor_owner_nor_rls_exempt(
    owner: asyncpg.Connection, db: Database
) -> None:
    async with db.pool.acquire() as conn:
        me = await conn.fetchrow(
            "select current_user u, rolsuper, rolbypassrls from pg_roles where rolname = current_user"
        )
    assert (me["u"], me["rolsuper"], me["rolbypassrls"]) == (APP_ROLE, False, False)
    owned = await owner.fetchval(
        """select count(*) from pg_class c join pg_roles r on r.oid = c.relowner
                                    where r.rolname = $1""",
        APP_ROLE,
    )
    assert owned == 0  # an owner is exempt from its tables' policies unless forced; owning nothing avoids the question
    for table in ("diary_entries", "audit_log"):  # append-only for the app too
        assert not await owner.fetchval(
            "select has_table_privilege($1, $2, 'UPDATE') or has_table_privilege($1, $2, 'DELETE')", APP_ROLE, table
        )


async def test_rls_hides_and_refuses_another_tenants_rows_on_every_table(
    pair: Pair, owner: asyncpg.Connection, db: Database
) -> None:
    tables = await tenant_owned_tables(owner)
    a_rows = {t: await owner.fetchval(f'select count(*) from "{t}" where tenant_id = $1', pair.a) for t in tables}
    assert a_rows["drafts"] == 1 and a_rows["diary_entries"] == 2 and a_rows["scan_customers"] == 10
    async with db.tenant(pair.b) as conn:
        for t in tables:
            assert await conn.fetchval(f'select count(*) from "{t}" where tenant_id = $1', pair.a) == 0, t
            assert await conn.fetchval(f'select count(*) from "{t}" where tenant_id <> $1', pair.b) == 0, t
        assert await conn.fetchval("select count(*) from tenants where id = $1", pair.a) == 0
        # Even a write aimed squarely at A's row touches nothing.
        assert await conn.execute("update drafts set subject = 'forged' where id = $1", pair.draft.id) == "UPDATE 0"
    async with db.pool.acquire() as conn:  # no tenant bound at all: nothing at all
        for t in tables:
            assert await conn.fetchval(f'select count(*) from "{t}"') == 0, t
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with db.tenant(pair.b) as conn:  # WITH CHECK: no writing a row into A
            await tenants.audit(conn, pair.a, "b", "forged", None)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with db.tenant(pair.b) as conn:
            await conn.execute("update drafts set tenant_id = $1 where tenant_id = $2", pair.a, pair.b)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # and no turning RLS off from the app's role
        async with db.tenant(pair.b) as conn:
            await conn.execute("alter table drafts no force row level security")


async def test_the_token_lookup_names_only_the_tokens_own_tenant(pair: Pair, db: Database) -> None:
    found = await tenants.lookup_token(db.pool, pair.a_operator)
    assert (found["tenant_id"], found["role"], found["name"]) == (pair.a, "operator", "a-night-shift")
    assert set(found.keys()) == {"tenant_id", "role", "name"}  # no hash, no other row
    assert re.fullmatch(r"rm_[a-z0-9-]+_[A-Za-z0-9_-]+", pair.a_operator)
