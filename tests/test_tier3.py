"""TIER3 on the real dev server with three model vendors answering through their official SDKs from local
wire-format fakes: the worker (Anthropic), the supervisor (OpenAI) and the tiebreaker (Google). Also the
per-customer daily cost cap and the ledger. The vendors' APIs cannot be reached from here, hence the fakes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from temporalio.client import Client

from core.secrets import encrypt
from db import scans, tenants
from db.pool import Database
from sandbox.llm_fakes import FakeLLM, start_fake_llm
from schemas import ids as ids_
from schemas.evidence import EvidenceItem
from schemas.workflow_io import BatchRef, BatchResult
from tests.conftest import create_tenant, record_history
from workflows.scan import ClassifyBatchWorkflow

pytestmark = pytest.mark.usefixtures("workers")
RUN = dt.date(2026, 11, 22)
MODELS = {
    "TIER1": "anthropic:claude-haiku-4-5",
    "TIER2": "anthropic:claude-sonnet-4-6",
    "TIER3": "anthropic:claude-sonnet-4-6",
    "SUPERVISOR": "openai:gpt-5",
    "TIEBREAKER": "google:gemini-2.5-pro",
}


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeLLM]]:
    started = {v: start_fake_llm(v) for v in ("anthropic", "openai", "google")}
    yield started
    for f in started.values():
        f.stop()


def late_invoice(cid: str, n: int) -> EvidenceItem:
    return EvidenceItem(
        source_id=f"stripe:in_{cid[-6:]}{n}",
        kind="invoice_paid_late",
        factor="payment_history",
        signal=-0.35,
        summary=f"Invoice in_{cid[-6:]}{n} for $4,800.00 was paid 31 days late",
        facts={"amount_usd": 4800.0, "days_late": 31},
    )


async def tier3_batch(
    owner: asyncpg.Connection, db: Database, secret_key: str, fakes: dict[str, FakeLLM], size: int = 4
) -> tuple[str, BatchRef, list[str]]:
    """A tenant whose models are the fakes, and one TIER3 batch of enterprise customers paying late."""
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    ids = [f"cus_{uuid.uuid4().hex[:12]}" for _ in range(size)]
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
                    "name": f"Enterprise {i}",
                    "email": f"ops{i}@example.test",
                    "arr_cents": 120_000_00,
                    "contract": "annual",
                    "renewal_date": RUN + dt.timedelta(days=40),
                    "subscription_id": None,
                    "status": "active",
                    "links": {},
                    "billing": {},
                }
                for i, c in enumerate(ids)
            ],
        )
        await conn.executemany(
            "insert into scan_customers (tenant_id, run_date, customer_id, chunk_no, route, "
            "batch_no) values ($1, $2, $3, 0, 'TIER3', 0)",
            [(tid, RUN, c) for c in ids],
        )
        await scans.write_evidence(
            conn, tid, RUN, "stripe", {c: ([late_invoice(c, 1), late_invoice(c, 2)], None) for c in ids}
        )
    return tid, BatchRef(tenant_id=tid, run_date=RUN, batch_no=0, route="TIER3", size=size), ids


async def run_batch(client: Client, ref: BatchRef) -> BatchResult:
    return await client.execute_workflow(
        ClassifyBatchWorkflow.run,
        ref,
        id=ids_.classify_batch(ref.tenant_id, RUN, 0),
        task_queue="renewals",
        result_type=BatchResult,
    )


def flag(cid: str, cls: str, sev: str) -> dict[str, object]:
    return {
        "flagged": [
            {
                "customer_id": cid,
                "classification": cls,
                "severity": sev,
                "reason": "two late invoices on an enterprise account",
                "cited_source_ids": [f"stripe:in_{cid[-6:]}1"],
            }
        ],
        "systematic_drift": False,
    }


def tiebreak(cid: str, cls: str) -> dict[str, object]:
    sid = f"stripe:in_{cid[-6:]}1"
    return {
        "rows": [
            {
                "customer_id": cid,
                "classification": cls,
                "severity": "HIGH",
                "cited_source_ids": [sid],
                "diary": f"Paid 31 days late [{sid}].",
                "recommended_action": "internal_alert",
            }
        ]
    }


async def test_two_of_three_decide_and_the_audit_log_keeps_all_three(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, fakes: dict[str, FakeLLM]
) -> None:
    tid, ref, ids = await tier3_batch(owner, db, secret_key, fakes)
    fakes["openai"].push(flag(ids[0], "likely_churn", "HIGH"))
    fakes["google"].push(tiebreak(ids[0], "likely_churn"))
    result = await run_batch(client, ref)
    assert result.classified == len(ids)
    await record_history(client, ids_.classify_batch(tid, RUN, 0), "classify_batch_judged_tier3_completed")
    await record_history(client, ids_.supervisor_review(tid, RUN, 0), "supervisor_review_completed")
    await record_history(client, ids_.tiebreak(tid, RUN, 0, ids[0]), "tiebreaker_completed")
    async with db.tenant(tid) as conn:
        rows = {r["customer_id"]: r for r in await conn.fetch("select * from classifications")}
        audit = await conn.fetchrow("select detail from audit_log where action = 'verdict.disputed'")
        ledger = await conn.fetch("select stage, model, cost_usd from model_calls")
    worker_cls = rows[ids[1]]["classification"]
    assert worker_cls != "likely_churn"  # the worker read these accounts as less severe...
    assert rows[ids[0]]["classification"] == "likely_churn"  # ...supervisor and tiebreaker agreed: two of three
    assert not rows[ids[0]]["needs_review"]
    assert set(audit["detail"]["votes"]) == {"worker", "supervisor", "tiebreaker"}
    assert {r["stage"] for r in ledger} == {"worker", "supervisor", f"tiebreaker:{ids[0]}"}
    assert all(r["cost_usd"] > 0 for r in ledger)
    assert len(fakes["google"].requests) == 1  # only the disputed row reached the third vendor


async def test_three_different_readings_keep_the_worker_and_ask_a_human(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, fakes: dict[str, FakeLLM]
) -> None:
    tid, ref, ids = await tier3_batch(owner, db, secret_key, fakes)
    fakes["openai"].push(flag(ids[0], "likely_churn", "HIGH"))
    fakes["google"].push(tiebreak(ids[0], "expansion"))
    await run_batch(client, ref)
    async with db.tenant(tid) as conn:
        row = await conn.fetchrow(
            "select classification, needs_review from classifications where customer_id = $1", ids[0]
        )
        other = await conn.fetchval("select classification from classifications where customer_id = $1", ids[1])
    assert row["needs_review"] and row["classification"] == other  # the worker's reading, flagged for a human


async def test_a_customer_at_the_daily_cap_is_finished_offline_and_never_sent_to_the_model(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, fakes: dict[str, FakeLLM]
) -> None:
    tid, ref, ids = await tier3_batch(owner, db, secret_key, fakes)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set daily_cost_cap_usd = 0.01")
        await conn.execute(
            """insert into model_calls (tenant_id, customer_id, run_date, batch_no, stage, tier, model,
                              input_tokens, output_tokens, cost_usd) values ($1, $2, $3, 99, 'worker', 'TIER3',
                              'anthropic:claude-sonnet-4-6', 1000, 100, 0.02)""",
            tid,
            ids[0],
            RUN,
        )
    await run_batch(client, ref)
    async with db.tenant(tid) as conn:
        capped = await conn.fetchrow("select model, factors from classifications where customer_id = $1", ids[0])
        billed = {r["customer_id"] for r in await conn.fetch("select customer_id from model_calls where batch_no = 0")}
    assert capped["model"] == "offline-factors-v1"
    assert any("cost cap reached" in n for n in capped["factors"]["notes"])
    assert ids[0] not in billed and set(ids[1:]) <= billed
    worker_prompts = " ".join(str(r["body"]) for r in fakes["anthropic"].requests)
    assert ids[0] not in worker_prompts and ids[1] in worker_prompts
    # The supervisor read through OpenAI Batch, and the capped customer was not in its input file either.
    supervisor_prompts = " ".join(str(r["body"]) for r in fakes["openai"].requests)
    assert "/v1/batches" in [r["path"] for r in fakes["openai"].requests]
    assert ids[0] not in supervisor_prompts and ids[1] in supervisor_prompts
