"""A scan with HubSpot or Salesforce, and Slack, connected: the real SDKs against the vendor sandbox, through the
workers on the dev server. What an operator checks: the CRM and Slack evidence reaches the bundles and the
verdicts, a 429 is waited out, and a rejected key costs only that source, with the reason on the connector and in
every bundle."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client

from api.scans import start_scan
from core import citations
from core.claims import SOURCE_ID
from core.render import render
from core.secrets import encrypt
from db import scans, tenants
from db import settings as tenant_settings
from db.pool import Database
from sandbox.server import SandboxHandle
from schemas import ids
from schemas.workflow_io import TenantScanResult
from tests.conftest import AS_OF, create_tenant, manifest_key, record_history

pytestmark = pytest.mark.usefixtures("workers")


async def tenant_with(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    sources: dict[str, tuple[str, dict[str, Any]]],
) -> str:
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )
    async with db.tenant(tid) as conn:
        for kind, (key, config) in sources.items():
            await tenants.put_connector(conn, tid, kind, encrypt(secret_key, key), config)
    return tid


async def scan(client: Client, tenant: str, day: dt.date = AS_OF) -> TenantScanResult:
    wid = await start_scan(client, tenant, day)
    return await client.get_workflow_handle(wid, result_type=TenantScanResult).result()


async def evidence_by_source(db: Database, tid: str) -> dict[str, list[asyncpg.Record]]:
    async with db.tenant(tid) as conn:
        rows = await conn.fetch("select customer_id, source, items, error from evidence where run_date = $1", AS_OF)
    out: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        out.setdefault(r["source"], []).append(r)
    return out


STAGES = re.compile(
    r"renewal_at_risk|closedlost|closedwon|closed ?(?:lost|won)|appointmentscheduled|qualifiedtobuy|contractsent|"
    r"presentationscheduled|decisionmakerboughtin|negotiation|in stage|pipeline",
    re.I,
)


async def assert_customer_ready(db: Database, tid: str) -> int:
    """Every draft body of the scan is fit for the customer: no source id, no Slack mention, no CRM stage (the
    bundle's own stage values included), and no digit the renderer did not put there from a fact or offer.
    Returns how many drafts were read."""
    async with db.tenant(tid) as conn:
        rows = await conn.fetch(
            """select d.*, c.classification, c.route, cu.name from drafts d
                 join classifications c using (tenant_id, customer_id, run_date)
                 join customers cu on cu.tenant_id = d.tenant_id and cu.id = d.customer_id
                where d.run_date = $1""",
            AS_OF,
        )
        bundles = await scans.load_bundles(conn, tid, AS_OF, [r["customer_id"] for r in rows])
        settings = await tenant_settings.email_settings(conn)
    for r in rows:
        bundle, body = bundles[r["customer_id"]], r["body"]
        stages = {str(i.facts["stage"]) for i in bundle.items if i.facts.get("stage")}
        assert not SOURCE_ID.search(body) and "<@U" not in body, body
        assert not STAGES.search(body) and not any(s.lower() in body.lower() for s in stages), body
        assert r["template_body"] and "{{" not in body, body
        ctx = citations.context(bundle, r["name"], r["classification"], settings=settings, route=r["route"])
        rendered = render(r["template_body"], ctx)
        assert rendered.text.rstrip() == body.rstrip(), (rendered.text, body)
        filled = {i for a, b in rendered.spans for i in range(a, b)}
        stray = [(i, c) for i, c in enumerate(rendered.text) if c.isdigit() and i not in filled]
        assert not stray, (stray, body)
    return len(rows)


async def test_hubspot_and_slack_evidence_reaches_the_verdicts_after_a_429(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle, workspace: Path, client: Client
) -> None:
    tid = await tenant_with(
        owner,
        db,
        secret_key,
        sandbox,
        workspace,
        {
            "hubspot": (sandbox.keys["hubspot"], {"api_base": sandbox.hubspot_host}),
            "slack": (sandbox.keys["slack"], {"api_base": sandbox.slack_base_url}),
        },
    )
    sandbox.add_fault("slack", "/conversations.history", status=429, times=2, retry_after=1)
    result = await scan(client, tid)
    await record_history(client, ids.scan_chunk(tid, AS_OF, 0), "scan_chunk_with_crm_and_slack_completed")
    by_source = await evidence_by_source(db, tid)
    assert len(by_source["hubspot"]) == len(by_source["slack"]) == len(by_source["stripe"]) == result.due
    crm_ids = {i["source_id"] for r in by_source["hubspot"] for i in r["items"]}
    slack_ids = {i["source_id"] for r in by_source["slack"] for i in r["items"]}
    assert crm_ids and all(s.startswith(("hubspot:deal:", "hubspot:contact:")) for s in crm_ids)
    assert slack_ids and all(s.startswith("slack:") for s in slack_ids)
    assert not [r["error"] for r in by_source["slack"] if r["error"]]  # the 429s were waited out
    async with db.tenant(tid) as conn:
        cited = {
            s
            for r in await conn.fetch("select cited_source_ids from classifications where run_date = $1", AS_OF)
            for s in r["cited_source_ids"]
        }
        status = {r["kind"]: r["status"] for r in await tenants.list_connectors(conn)}
    assert cited & crm_ids and cited & slack_ids, "CRM and Slack evidence should move some verdicts"
    assert status == {"stripe": "connected", "hubspot": "connected", "slack": "connected"}
    assert await assert_customer_ready(db, tid) == result.drafts > 0


async def test_a_salesforce_tenant_gets_opportunity_and_contact_evidence(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle, workspace: Path, client: Client
) -> None:
    tid = await tenant_with(
        owner,
        db,
        secret_key,
        sandbox,
        workspace,
        {
            "salesforce": (
                sandbox.keys["salesforce"],
                sandbox.connector_config("salesforce"),
            )
        },
    )
    result = await scan(client, tid)
    rows = (await evidence_by_source(db, tid))["salesforce"]
    ids = {i["source_id"] for r in rows for i in r["items"]}
    assert len(rows) == result.due and not [r["error"] for r in rows if r["error"]]
    assert {s.split(":")[1] for s in ids} == {"opportunity", "contact"}
    assert await assert_customer_ready(db, tid) == result.drafts > 0


async def test_a_rejected_hubspot_key_costs_only_hubspot_and_says_so_everywhere(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle, workspace: Path, client: Client
) -> None:
    tid = await tenant_with(
        owner,
        db,
        secret_key,
        sandbox,
        workspace,
        {"hubspot": ("pat-revoked-long-ago", {"api_base": sandbox.hubspot_host})},
    )
    result = await scan(client, tid)
    assert result.due > 0 and any("hubspot" in e and "credentials rejected" in e for e in result.gather_errors)
    by_source = await evidence_by_source(db, tid)
    assert len(by_source["hubspot"]) == result.due
    assert all("credentials rejected" in r["error"] for r in by_source["hubspot"])  # each bundle says why
    async with db.tenant(tid) as conn:
        connector = next(r for r in await tenants.list_connectors(conn) if r["kind"] == "hubspot")
        verdicts = await conn.fetchval("select count(*) from classifications where run_date = $1", AS_OF)
    assert connector["status"] == "error" and "Reconnect hubspot" in connector["last_error"]
    assert verdicts == result.due  # the scan went on from Stripe alone


async def test_usage_pushed_over_the_api_joins_the_evidence_without_database_access(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    client: Client,
    api_url: str,
) -> None:
    import csv

    import httpx

    tid = await tenant_with(owner, db, secret_key, sandbox, workspace, {})
    async with db.tenant(tid) as conn:
        token = await tenants.create_token(conn, tid, "admin", "product-exporter")
    with open(workspace / "usage" / "daily_metrics.csv", newline="") as f:
        rows = [{k: v for k, v in r.items()} for r in csv.DictReader(f)]
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as h:
        bad = await h.post("/v1/usage", json={"rows": [rows[0], rows[1] | {"error_count": "-3"}]})
        assert bad.status_code == 422 and "error_count" in bad.text
        for i in range(0, len(rows), 10_000):
            r = await h.post("/v1/usage", json={"rows": rows[i : i + 10_000]})
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] == len(rows[i : i + 10_000])
    result = await scan(client, tid)
    usage = (await evidence_by_source(db, tid))["usage"]
    kinds = {i["kind"] for r in usage for i in r["items"]}
    assert len(usage) == result.due and not [r["error"] for r in usage if r["error"]]
    assert {"usage_grew", "usage_fell"} <= kinds
