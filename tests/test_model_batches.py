"""The scan's worker call through Anthropic's Message Batches, on the real stack: the dev server (timers and poll
activities), PostgreSQL, and the Anthropic SDK against the local wire-format fake (the vendor cannot be reached
from here). Carry-forward's helpers build the tenant and the day. Then the TIER3 supervisor and tiebreaker
through OpenAI Batch and Gemini batch mode, and no second batch after a crash between submitting and saving."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client

from db import model_batches as batch_rows
from db.pool import Database
from sandbox.llm_fakes import BATCH_EXPIRED, BATCH_PARTIAL, BATCH_SLOW, BATCH_STUCK, FakeLLM, start_fake_llm
from schemas import ids as ids_
from tests.conftest import record_history
from tests.test_carry_forward import DAY1, book, scan_day
from tests.test_tier3 import RUN, flag, run_batch, tiebreak, tier3_batch

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
    await record_history(client, ids_.classify_batch(tid, DAY1, 0), "classify_batch_judged_model_batch_completed")


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


@pytest.fixture
def three() -> Iterator[dict[str, FakeLLM]]:
    started = {v: start_fake_llm(v) for v in ("anthropic", "openai", "google")}
    yield started
    for f in started.values():
        f.stop()


def sync_paths(fake: FakeLLM) -> list[str]:
    """The synchronous model calls a fake was sent (batch traffic left out)."""
    return [p for p in paths(fake) if p.endswith(("/v1/messages", "/chat/completions", ":generateContent"))]


async def test_the_tier3_supervisor_and_tiebreaker_read_through_openai_batch_and_gemini_batch_mode(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, three: dict[str, FakeLLM]
) -> None:
    tid, ref, ids = await tier3_batch(owner, db, secret_key, three)
    three["openai"].push(flag(ids[0], "likely_churn", "HIGH"))  # the supervisor disputes one row...
    three["google"].push(tiebreak(ids[0], "likely_churn"))  # ...and the tiebreaker sides with it
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set batch_wait_seconds = 60")  # polls every 3 s
    three["openai"].batch_script.append(BATCH_SLOW)  # the supervisor's batch is in progress for two polls
    result = await run_batch(client, ref)
    assert result.classified == len(ids)
    assert [sync_paths(f) for f in three.values()] == [[], [], []]  # every model call went through a batch
    assert paths(three["openai"])[:2] == ["/v1/files", "/v1/batches"]
    assert [p.rsplit(":", 1)[1] for p in paths(three["google"])] == ["batchGenerateContent"]
    [gemini] = three["google"].batches.values()
    assert gemini["display_name"].startswith("rm-") and [r[0] for r in gemini["results"]] == [gemini["display_name"]]
    async with db.tenant(tid) as conn:
        rows = {r["customer_id"]: r for r in await conn.fetch("select * from classifications")}
        calls = await conn.fetch("select stage, batched from model_calls")
    assert rows[ids[0]]["classification"] == "likely_churn"  # two of three, as without batches
    assert {r["stage"] for r in calls} == {"worker", "supervisor", f"tiebreaker:{ids[0]}"}
    assert all(r["batched"] for r in calls)  # every call priced at batch rates
    await record_history(client, ids_.supervisor_review(tid, RUN, 0), "supervisor_review_batch_completed")
    await record_history(client, ids_.tiebreak(tid, RUN, 0, ids[0]), "tiebreaker_batch_completed")


async def test_a_worker_that_dies_between_the_vendor_accepting_a_batch_and_saving_its_id_submits_no_second(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    client: Client,
    three: dict[str, FakeLLM],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Saving each stage's batch id fails once, right after the vendor accepted the batch (injected: a worker
    cannot be killed at that exact instruction from here). Temporal retries the activity; the retry finds the
    intent, looks the batch up by our key (Anthropic: its custom_ids; OpenAI: metadata; Gemini: display_name),
    and submits nothing again."""
    saved = batch_rows.submitted
    failed: set[str] = set()

    async def dies_once(
        conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, batch_no: int, stage: str, *rest: Any, **kw: Any
    ) -> None:
        if stage not in failed:
            failed.add(stage)
            raise ConnectionResetError("the worker died before saving the batch id")
        await saved(conn, tenant_id, run_date, batch_no, stage, *rest, **kw)

    monkeypatch.setattr(batch_rows, "submitted", dies_once)
    tid, ref, ids = await tier3_batch(owner, db, secret_key, three)
    three["openai"].push(flag(ids[0], "likely_churn", "HIGH"))
    three["google"].push(tiebreak(ids[0], "likely_churn"))
    result = await run_batch(client, ref)
    assert result.classified == len(ids)
    assert failed == {"worker-batch", "supervisor-batch", f"tiebreaker:{ids[0]}-batch"}
    assert [len(f.batches) for f in three.values()] == [1, 1, 1]  # one batch per stage: none submitted twice
    assert [sync_paths(f) for f in three.values()] == [[], [], []]  # and each one's answer was used
    async with db.tenant(tid) as conn:
        calls = await conn.fetch("select stage, batched from model_calls")
        held = {r["stage"]: r["output"] for r in await conn.fetch("select stage, output from model_outputs")}
    assert all(r["batched"] for r in calls) and len({r["stage"] for r in calls}) == 3
    assert held["worker-batch"]["id"] == next(iter(three["anthropic"].batches))
    # Anthropic's batch was still in progress, so it was taken as a guess (never cancelled by us); the others by key.
    assert held["worker-batch"]["guessed"] and not held["supervisor-batch"]["guessed"]


async def test_a_request_the_batch_errored_is_asked_synchronously_and_the_others_keep_their_batch_answers(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, three: dict[str, FakeLLM]
) -> None:
    tid, ref, ids = await tier3_batch(owner, db, secret_key, three)
    three["openai"].batch_script.append(BATCH_PARTIAL)  # the supervisor's request errors inside its batch
    result = await run_batch(client, ref)
    assert result.classified == len(ids)
    assert sync_paths(three["openai"]) == ["/v1/chat/completions"]  # the supervisor, asked again synchronously
    assert sync_paths(three["anthropic"]) == []  # the worker's batch answer stood
    async with db.tenant(tid) as conn:
        calls = {(r["stage"], r["batched"]) for r in await conn.fetch("select stage, batched from model_calls")}
    assert calls == {("worker", True), ("supervisor", False)}  # each priced as the call it was
