"""The scan's worker call through Anthropic's Message Batches, on the real stack: the dev server (timers and poll
activities), PostgreSQL, and the Anthropic SDK against the local wire-format fake (the vendor cannot be reached
from here). Carry-forward's helpers build the tenant and the day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import asyncpg
import pytest
from temporalio.client import Client

from db.pool import Database
from sandbox.llm_fakes import BATCH_EXPIRED, BATCH_SLOW, BATCH_STUCK, FakeLLM, start_fake_llm
from schemas import ids as ids_
from tests.conftest import record_history
from tests.test_carry_forward import DAY1, book, scan_day

pytestmark = pytest.mark.usefixtures("workers")


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeLLM]]:
    started = {v: start_fake_llm(v) for v in ("anthropic", "openai")}
    yield started
    for f in started.values():
        f.stop()


def paths(fake: FakeLLM) -> list[str]:
    return [r["path"] for r in fake.requests]


async def ledger(db: Database, tid: str) -> list[asyncpg.Record]:
    async with db.tenant(tid) as conn:
        return await conn.fetch(
            "select customer_id, batched, cost_usd, model, cache_write_tokens from model_calls order by customer_id"
        )


async def test_the_worker_call_goes_through_a_message_batch_waited_on_with_timers_at_half_price(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, fakes: dict[str, FakeLLM]
) -> None:
    tid, ids = await book(owner, db, secret_key, fakes, 8_000_00)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set batch_wait_seconds = 60")  # polls every 3 s
    fakes["anthropic"].batch_script.append(BATCH_SLOW)  # in progress for two polls
    result = await scan_day(client, db, tid, ids, DAY1, "TIER1", {})
    assert result.classified == 3 and result.drafts
    assert paths(fakes["anthropic"]) == ["/v1/messages/batches"]  # no synchronous call
    [batch] = fakes["anthropic"].batches.values()
    assert batch["status"] == "ended" and batch["polls"] < 0  # it was polled until it ended
    rows = await ledger(db, tid)
    assert [r["customer_id"] for r in rows] == sorted(ids) and all(r["batched"] for r in rows)
    handle = client.get_workflow_handle(ids_.classify_batch(tid, DAY1, 0))
    events = [e async for e in handle.fetch_history_events()]
    timers = [e for e in events if e.HasField("timer_started_event_attributes")]
    assert len(timers) == 2  # waited twice with a durable timer, no worker held meanwhile
    await record_history(client, ids_.classify_batch(tid, DAY1, 0), "classify_batch_model_batch_completed")


@pytest.mark.parametrize("how", [BATCH_STUCK, BATCH_EXPIRED])
async def test_a_batch_past_the_deadline_or_expired_is_read_synchronously(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, fakes: dict[str, FakeLLM], how: str
) -> None:
    tid, ids = await book(owner, db, secret_key, fakes, 8_000_00)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set batch_wait_seconds = 2")
    fakes["anthropic"].batch_script.append(how)
    result = await scan_day(client, db, tid, ids, DAY1, "TIER1", {})
    assert result.classified == 3
    expected = ["/v1/messages/batches", "/v1/messages"]
    assert [p for p in paths(fakes["anthropic"]) if not p.endswith("/cancel")] == expected
    if how == BATCH_STUCK:
        [batch] = fakes["anthropic"].batches.values()
        assert batch.get("canceled_at")  # the stuck batch was cancelled, not left to run (and bill)
    rows = await ledger(db, tid)
    assert len(rows) == 3 and not any(r["batched"] for r in rows)  # priced as the synchronous call it was
    assert all(r["cache_write_tokens"] > 0 for r in rows)  # the synchronous call marked its prefix for caching
    async with db.tenant(tid) as conn:
        models = {r["model"] for r in await conn.fetch("select model from classifications")}
    assert models == {"anthropic:claude-haiku-4-5"}


async def test_batches_off_or_a_customer_at_its_cap_never_enters_a_batch(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, fakes: dict[str, FakeLLM]
) -> None:
    tid, ids = await book(owner, db, secret_key, fakes, 8_000_00)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set daily_cost_cap_usd = 0.01")
        await conn.execute(
            """insert into model_calls (tenant_id, customer_id, run_date, batch_no, stage, tier, model,
                              input_tokens, output_tokens, cost_usd) values ($1, $2, $3, 99, 'worker', 'TIER1',
                              'anthropic:claude-haiku-4-5', 1000, 100, 0.02)""",
            tid,
            ids[0],
            DAY1,
        )
    await scan_day(client, db, tid, ids, DAY1, "TIER1", {})
    [sent] = [r["body"] for r in fakes["anthropic"].requests if r["path"] == "/v1/messages/batches"]
    assert ids[0] not in str(sent) and ids[1] in str(sent) and ids[2] in str(sent)

    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set batch_wait_seconds = 0")
    fakes["anthropic"].requests.clear()
    await scan_day(client, db, tid, ids, DAY1 + dt.timedelta(days=1), "TIER1", {c: 50 for c in ids})
    assert paths(fakes["anthropic"]) == ["/v1/messages"]
