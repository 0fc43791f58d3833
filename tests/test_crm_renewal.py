"""The CRM's renewal date moves the scan's due set (issue #12): an annual contract billed monthly is due by its
renewal deal's (HubSpot) or opportunity's (Salesforce) close date, not by its billing period end. On the real
stack: the workers on the dev server, the vendor sandbox serving a workspace edited for two such customers."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client

from api.scans import start_scan
from connectors.hubspot import pick_renewal_deal
from connectors.salesforce import pick_renewal_opportunity
from core.secrets import encrypt
from db import tenants
from db.pool import Database
from sandbox.server import SandboxHandle, start_sandbox
from schemas.workflow_io import TenantScanResult
from tests.conftest import AS_OF, create_tenant, manifest_key, record_history

pytestmark = pytest.mark.usefixtures("workers")

CONTRACT_SOON = 40  # the renewal deal closes in 40 days: due (14-90), though the billing period ends in 5
CONTRACT_LATE = 200  # the contract renews in 200 days: not due, though the billing period ends in 20
PERIOD_SOON, PERIOD_DUE = 5, 20


def _edit(ws: Path, rel: str, change: Any) -> None:
    path = ws / rel
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _ts(days: int) -> int:
    return int(dt.datetime.combine(AS_OF + dt.timedelta(days=days), dt.time(9), dt.UTC).timestamp())


def date_contract(ws: Path, customer: dict[str, Any], period_days: int, contract_days: int) -> None:
    """A monthly-billed annual contract: its billing period ends in `period_days`, no Stripe metadata names the
    contract end, and its CRM renewal deal and opportunity close in `contract_days`."""
    close = AS_OF + dt.timedelta(days=contract_days)

    def subs(rows: list[dict[str, Any]]) -> None:
        for s in rows:
            if s["customer"] == customer["id"]:
                s["current_period_end"] = _ts(period_days)
                for item in s["items"]["data"]:
                    item["current_period_end"] = _ts(period_days)
                s["metadata"].pop("contract_end_date", None)

    def hubspot(deals: list[dict[str, Any]]) -> None:
        assoc = json.loads((ws / "hubspot" / "associations.json").read_text())["companies_to_deals"]
        own = set(assoc[customer["metadata"]["hubspot_company_id"]])
        renewal = pick_renewal_deal([d for d in deals if d["id"] in own])
        assert renewal is not None
        renewal["properties"]["closedate"] = f"{close.isoformat()}T09:00:00Z"

    def salesforce(opps: list[dict[str, Any]]) -> None:
        renewal = pick_renewal_opportunity(
            [o for o in opps if o["AccountId"] == customer["metadata"]["salesforce_account_id"]]
        )
        assert renewal is not None
        renewal["CloseDate"] = close.isoformat()

    _edit(ws, "stripe/subscriptions.json", subs)
    _edit(ws, "hubspot/deals.json", hubspot)
    _edit(ws, "salesforce/Opportunity.json", salesforce)


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxHandle, Path, str, str]]:
    """Its own small workspace (the session's is shared): two active monthly-billed customers re-dated."""
    from sandbox.generate import STORY_RICH_SHARES, generate_workspace

    ws = generate_workspace(
        tmp_path_factory.mktemp("crm-renewal"), customers=24, as_of=AS_OF, seed=5, shares=STORY_RICH_SHARES
    )
    subs = {s["customer"]: s for s in json.loads((ws / "stripe" / "subscriptions.json").read_text())}
    monthly = [
        c
        for c in json.loads((ws / "stripe" / "customers.json").read_text())
        if (s := subs.get(c["id"]))
        and s["status"] == "active"
        and not s.get("cancel_at_period_end")
        and s["items"]["data"][0]["price"]["recurring"]["interval"] == "month"
    ]
    soon, late = monthly[0], monthly[1]
    date_contract(ws, soon, PERIOD_SOON, CONTRACT_SOON)
    date_contract(ws, late, PERIOD_DUE, CONTRACT_LATE)
    box = start_sandbox(ws)
    yield box, ws, soon["id"], late["id"]
    box.stop()


async def scan_with(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, box: SandboxHandle, ws: Path, crm: str
) -> tuple[str, set[str]]:
    """A tenant with Stripe and `crm` (or no CRM) scanned on AS_OF: its ID and the customers judged."""
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(ws, "stripe"), stripe_base=box.stripe_api_base
    )
    config = {
        "hubspot": {"api_base": box.hubspot_host},
        "salesforce": {"api_base": box.salesforce_instance_url, "ca_file": box.ca_file},
    }
    if crm in config:
        async with db.tenant(tid) as conn:
            await tenants.put_connector(conn, tid, crm, encrypt(secret_key, box.keys[crm]), config[crm])
    wid = await start_scan(client, tid, AS_OF)
    await client.get_workflow_handle(wid, result_type=TenantScanResult).result()
    if crm == "hubspot":  # a tenant scan that reads the CRM's renewal dates (workflow.patched "crm-renewal-dates")
        await record_history(client, wid, "tenant_scan_with_crm_renewal_dates")
    if crm == "salesforce":  # the invoice list read beside the CRM's dates (workflow.patched "invoices-beside-crm-…")
        await record_history(client, wid, "tenant_scan_invoices_beside_crm_dates")
    async with db.tenant(tid) as conn:
        judged = {r[0] for r in await conn.fetch("select customer_id from classifications where run_date = $1", AS_OF)}
    return tid, judged


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
async def test_the_crm_close_date_decides_who_is_due(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    client: Client,
    dated: tuple[SandboxHandle, Path, str, str],
    crm: str,
) -> None:
    box, ws, soon, late = dated
    tid, judged = await scan_with(owner, db, secret_key, client, box, ws, crm)
    assert soon in judged, "the renewal deal closes in 40 days: the customer is due, whatever its billing period"
    assert late not in judged, "the contract renews in 200 days: a billing period ending in 20 does not make it due"
    async with db.tenant(tid) as conn:
        rows = {
            r["id"]: r
            for r in await conn.fetch(
                """select id, renewal_date, crm_renewal_date, crm_renewal_source, billing
                     from customers where id = any($1)""",
                [soon, late],
            )
        }
    for cid, days in ((soon, CONTRACT_SOON), (late, CONTRACT_LATE)):
        when = AS_OF + dt.timedelta(days=days)
        assert rows[cid]["renewal_date"] == rows[cid]["crm_renewal_date"] == when
        assert rows[cid]["crm_renewal_source"] == crm and rows[cid]["billing"]["renewal_source"] == "crm"
        assert rows[cid]["billing"]["renewal_date"] == when.isoformat()  # what the subscription evidence quotes


async def test_without_a_crm_the_billing_period_decides(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    client: Client,
    dated: tuple[SandboxHandle, Path, str, str],
) -> None:
    """The same book with no CRM connected: Stripe's period end is all there is (the two customers swap)."""
    box, ws, soon, late = dated
    _, judged = await scan_with(owner, db, secret_key, client, box, ws, "none")
    assert late in judged and soon not in judged
