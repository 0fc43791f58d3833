"""Carry-forward of unchanged accounts on the real stack (dev server, PostgreSQL, the Anthropic and OpenAI SDKs
against local wire-format fakes, as in test_tier3.py: the vendors cannot be reached from here)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from core import routing
from core.secrets import encrypt
from db import carry as carry_db
from db import scans, tenants
from db.pool import Database
from sandbox.llm_fakes import FakeLLM, start_fake_llm
from schemas import ids as ids_
from schemas.evidence import EvidenceItem
from schemas.workflow_io import BatchRef, BatchResult
from tests import factories
from tests.conftest import create_tenant
from workflows.scan import ClassifyBatchWorkflow

pytestmark = pytest.mark.usefixtures("workers")
DAY1 = dt.date(2026, 11, 2)
MODELS = {"TIER1": "anthropic:claude-haiku-4-5", "TIER3": "anthropic:claude-sonnet-4-6", "SUPERVISOR": "openai:gpt-5"}


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeLLM]]:
    started = {v: start_fake_llm(v) for v in ("anthropic", "openai")}
    yield started
    for f in started.values():
        f.stop()


def evidence(cid: str, days_late: int = 31) -> list[EvidenceItem]:
    return [
        EvidenceItem(
            source_id=f"stripe:in_{cid[-6:]}{n}",
            kind="invoice_paid_late",
            factor="payment_history",
            signal=-0.35,
            summary=f"Invoice in_{cid[-6:]}{n} was paid {days_late} days late",
            facts={"amount_usd": 4800.0, "days_late": days_late},
        )
        for n in (1, 2)
    ]


async def book(
    owner: asyncpg.Connection, db: Database, secret_key: str, fakes: dict[str, FakeLLM], arr_cents: int
) -> tuple[str, list[str]]:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    ids = [f"cus_{uuid.uuid4().hex[:12]}" for _ in range(3)]
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set models = $1", MODELS)
        for vendor, fake in fakes.items():
            await tenants.put_connector(
                conn, tid, vendor, encrypt(secret_key, f"key-{vendor}"), {"base_url": fake.base_url}
            )
        await scans.upsert_customers(
            conn,
            tid,
            [
                {
                    "id": c,
                    "name": f"Account {i}",
                    "email": f"ops{i}@example.test",
                    "arr_cents": arr_cents,
                    "contract": "annual",
                    "renewal_date": DAY1 + dt.timedelta(days=60),
                    "subscription_id": None,
                    "status": "active",
                    "links": {},
                    "billing": {},
                }
                for i, c in enumerate(ids)
            ],
        )
    return tid, ids


async def scan_day(
    client: Client, db: Database, tid: str, ids: list[str], day: dt.date, route: str, late: dict[str, int]
) -> BatchResult:
    """One batch of the book on `day`, each customer's invoices `late[cid]` days late (31 by default)."""
    async with db.tenant(tid) as conn:
        await conn.executemany(
            "insert into scan_customers (tenant_id, run_date, customer_id, chunk_no, route, batch_no)"
            " values ($1, $2, $3, 0, $4, 0)",
            [(tid, day, c, route) for c in ids],
        )
        await scans.write_evidence(conn, tid, day, "stripe", {c: (evidence(c, late.get(c, 31)), None) for c in ids})
    ref = BatchRef(tenant_id=tid, run_date=day, batch_no=0, route=route, size=len(ids))  # type: ignore[arg-type]
    return await client.execute_workflow(
        ClassifyBatchWorkflow.run,
        ref,
        id=ids_.classify_batch(tid, day, 0),
        task_queue="renewals",
        result_type=BatchResult,
    )


def asked(fake: FakeLLM) -> set[str]:
    """The customers named in the prompts the fake was sent (an OpenAI batch's input file holds them as JSON inside
    JSON, hence the pattern rather than the quotes)."""
    return {cid for r in fake.requests for cid in re.findall(r"cus_[0-9a-f]{12}", str(r["body"]))}


async def test_an_unchanged_account_is_carried_forward_citing_its_diary_and_a_change_re_asks(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, fakes: dict[str, FakeLLM]
) -> None:
    tid, ids = await book(owner, db, secret_key, fakes, 8_000_00)
    first = await scan_day(client, db, tid, ids, DAY1, "TIER1", {})
    assert asked(fakes["anthropic"]) == set(ids) and first.drafts  # late invoices: save emails drafted
    fakes["anthropic"].requests.clear()

    # Day two: one account's invoice is now later; the other two are exactly as they were.
    day2 = DAY1 + dt.timedelta(days=1)
    second = await scan_day(client, db, tid, ids, day2, "TIER1", {ids[0]: 45})
    assert asked(fakes["anthropic"]) == {ids[0]}  # only the changed account reached the model
    async with db.tenant(tid) as conn:
        first_rows = {
            r["customer_id"]: r for r in await conn.fetch("select * from classifications where run_date = $1", DAY1)
        }
        rows = {
            r["customer_id"]: r for r in await conn.fetch("select * from classifications where run_date = $1", day2)
        }
        diary = {r["customer_id"]: r for r in await conn.fetch("select * from diary_entries order by id")}
        entry1 = {
            r["customer_id"]: r["id"] for r in await conn.fetch("select * from diary_entries where run_date = $1", DAY1)
        }
        drafts = await conn.fetch("select customer_id, run_date from drafts order by run_date")
        billed = {
            r["customer_id"] for r in await conn.fetch("select customer_id from model_calls where run_date = $1", day2)
        }
    for cid in ids[1:]:
        carried = rows[cid]
        assert carried["carried_from"] == DAY1 and carried["fingerprint"] == first_rows[cid]["fingerprint"]
        assert (carried["classification"], carried["severity"]) == (
            first_rows[cid]["classification"],
            first_rows[cid]["severity"],
        )
        assert (
            carried["model"] == MODELS["TIER1"] and carried["cited_source_ids"] == first_rows[cid]["cited_source_ids"]
        )
        assert f"(diary:{entry1[cid]})" in diary[cid]["paragraph"] and "without a model call" in diary[cid]["paragraph"]
    assert rows[ids[0]]["carried_from"] is None and rows[ids[0]]["fingerprint"] != first_rows[ids[0]]["fingerprint"]
    assert billed == {ids[0]}  # carried verdicts cost nothing
    # No second draft for an unchanged account; the changed one gets its new reading's draft.
    assert [d["customer_id"] for d in drafts if d["run_date"] == day2] == [ids[0]]
    assert second.drafts == [d for d in second.drafts if ids[0] in d]

    # Day seven after the reading: too old to carry, so the model reads them all again (the limit is counted from
    # the model's reading, not from the last carried day).
    for n in range(2, 7):
        await scan_day(client, db, tid, ids, DAY1 + dt.timedelta(days=n), "TIER1", {ids[0]: 45})
    assert asked(fakes["anthropic"]) == {ids[0]}  # days two to six: only the day-two change was read
    fakes["anthropic"].requests.clear()
    await scan_day(client, db, tid, ids, DAY1 + dt.timedelta(days=7), "TIER1", {ids[0]: 45})
    assert asked(fakes["anthropic"]) == set(ids[1:])  # ids[0] was read on day two, so it is still carried


async def test_carry_forward_is_a_tenant_setting_and_zero_turns_it_off(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, fakes: dict[str, FakeLLM]
) -> None:
    tid, ids = await book(owner, db, secret_key, fakes, 8_000_00)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set carry_forward_days = 0")
    await scan_day(client, db, tid, ids, DAY1, "TIER1", {})
    await scan_day(client, db, tid, ids, DAY1 + dt.timedelta(days=1), "TIER1", {})
    assert len(fakes["anthropic"].requests) == 2  # read on both days


async def test_a_carried_tier3_account_is_not_sent_to_the_supervisor(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, fakes: dict[str, FakeLLM]
) -> None:
    tid, ids = await book(owner, db, secret_key, fakes, 120_000_00)
    await scan_day(client, db, tid, ids, DAY1, "TIER3", {})
    assert asked(fakes["openai"]) == set(ids)
    fakes["openai"].requests.clear()
    fakes["anthropic"].requests.clear()
    await scan_day(client, db, tid, ids, DAY1 + dt.timedelta(days=1), "TIER3", {ids[2]: 60})
    assert asked(fakes["anthropic"]) == asked(fakes["openai"]) == {ids[2]}
    async with db.tenant(tid) as conn:
        carried = await conn.fetch(
            "select customer_id from classifications where carried_from is not null order by customer_id"
        )
    assert {r["customer_id"] for r in carried} == set(ids[:2])


async def test_the_tier3_line_the_moved_rule_and_carry_days_are_tenant_settings(
    owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    admin = await factories.token(db, tid, "admin", "admin-cost")
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {admin}"}) as h:
        current = (await h.get("/v1/settings")).json()
        assert (current["tier3_arr_usd"], current["strong_signal"], current["carry_forward_days"]) == (50_000, 0.4, 7)
        for bad in ({"strong_signal": 0}, {"carry_forward_days": 31}, {"tier3_arr_usd": -1}):
            assert (await h.put("/v1/settings", json=current | bad)).status_code == 422, bad
        mine = current | {"tier3_arr_usd": 20_000, "strong_signal": 0.7, "carry_forward_days": 3}
        r = await h.put("/v1/settings", json=mine)
        assert r.status_code == 200 and (await h.get("/v1/settings")).json() == mine, r.text
    async with db.tenant(tid) as conn:
        t = await carry_db.thresholds(conn)
        audit = await conn.fetchval("select detail from audit_log where action = 'settings.changed'")
    assert audit["tier3_arr_usd"] == {"from": 50_000, "to": 20_000}
    quiet = routing.RouteFeatures(
        arr_cents=25_000_00, last_severity=None, severity_before_last=None, new_strong_signals=0
    )
    assert routing.route_customer(quiet) == "TIER1" and routing.route_customer(quiet, t) == "TIER3"
    signals = [("stripe:in_1", -0.5)]
    assert routing.count_new_strong(signals, set()) == 1 and routing.count_new_strong(signals, set(), t) == 0


async def test_the_route_mix_target_is_a_tenant_setting_and_a_scan_is_judged_against_the_tenants_bands(
    owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str, client: Client
) -> None:
    from temporalio.testing import ActivityEnvironment

    from activities.scan import ScanActivities
    from schemas.workflow_io import TenantScanInput

    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    admin = await factories.token(db, tid, "admin", "admin-mix")
    heavy = {"TIER1": [0.3, 0.6], "TIER2": [0.1, 0.3], "TIER3": [0.2, 0.5]}  # a book of many enterprise accounts
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {admin}"}) as h:
        current = (await h.get("/v1/settings")).json()
        assert current["route_mix_target"] == {r: list(band) for r, band in routing.TARGET_MIX.items()}
        for bad in (
            heavy | {"TIER1": [0.6, 0.3]},  # low above high
            {"TIER1": [0.3, 0.6], "TIER2": [0.1, 0.3]},  # a route without a band
            heavy | {"TIER1": [0.9, 1.0]},  # the lows sum past 1: no mix fits
        ):
            assert (await h.put("/v1/settings", json=current | {"route_mix_target": bad})).status_code == 422, bad
        r = await h.put("/v1/settings", json=current | {"route_mix_target": heavy})
        assert r.status_code == 200 and (await h.get("/v1/settings")).json()["route_mix_target"] == heavy, r.text
    day = DAY1 + dt.timedelta(days=40)
    async with db.tenant(tid) as conn:  # not the tenant's first run, which would only set the baseline
        await conn.execute(
            """insert into scan_runs (tenant_id, run_date, status)
                 values ($1, $2::date - 1, 'completed'), ($1, $2, 'running')""",
            tid,
            day,
        )
    realised = {"TIER1": 45, "TIER2": 15, "TIER3": 40}
    assert routing.mix_drift([t for t, n in realised.items() for _ in range(n)])  # out of the default bands...
    acts = ScanActivities(db, client, secret_key)
    inp = TenantScanInput(tenant_id=tid, run_date=day)
    await ActivityEnvironment().run(acts.finish_scan, inp, "completed", {"routes": realised}, None)
    async with db.tenant(tid) as conn:
        summary = await conn.fetchval("select summary from scan_runs where run_date = $1", day)
        alerted = await conn.fetchval("select count(*) from audit_log where action = 'alert.route_mix_drift'")
    assert summary["route_mix_drift"] == [] and not alerted  # ...within this tenant's
    assert summary["route_mix_target"] == heavy and summary["route_mix"]["TIER3"] == 0.4
