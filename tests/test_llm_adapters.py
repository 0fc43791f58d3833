"""Every vendor adapter through its official SDK against a local fake of the vendor's wire format; then the
pure parts of the judgement layer: prompts and answers, the registry, prices, and TIER3's resolution of three
readings."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from core.citations import validate_row
from llm.batch import Found, result_for
from llm.offline import verdict_for
from llm.pricing import UnknownModelPrice, price_usd
from llm.prompt import ModelAnswerError, StructuredModel, build_prompt, count_tokens, parse_answer
from llm.registry import SUPERVISOR, TIEBREAKER, WORKER_BY_ROUTE, get_model, parse_spec
from llm.supervisor import RowFlag, SupervisorReview, resolve, supervisor_prompt, tiebreaker_prompt
from sandbox import llm_fakes as fakes
from schemas.verdict import BatchVerdicts, VerdictRow
from tests import fabrication_corpus
from tests.fabrication import customer

# Third-party warnings, not ours to fix (the same lines belong in pyproject's filterwarnings): google-genai
# subclasses aiohttp's ClientSession, which aiohttp warns about; pydantic warns about a ReadOnly TypedDict
# item in LiteLLM's response types the first time it builds their schema.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:Item .* on TypedDict class .* is using the `ReadOnly` qualifier:UserWarning"),
]

SPECS = {
    "anthropic": "anthropic:claude-haiku-4-5",
    "openai": "openai:gpt-5-mini",
    "google": "google:gemini-2.5-flash",
    "litellm": "litellm:mistral/mistral-small",
}
BATCH = [customer(random.Random(40 + i), i) for i in range(3)]


@pytest.fixture(scope="module", params=list(SPECS))
def fake(request: pytest.FixtureRequest) -> Any:
    handle = fakes.start_fake_llm(request.param)
    yield handle
    handle.stop()


@asynccontextmanager
async def adapter(fake: fakes.FakeLLM, *steps: fakes.Step, timeout: float = 20.0) -> AsyncIterator[Any]:  # noqa: ASYNC109 - the SDK's timeout
    """The registry's adapter for the fake's vendor, with the script queued; closed after."""
    fake.push(*steps)
    model = get_model(
        SPECS[fake.vendor],
        keys={fake.vendor: "sk-test-key", "mistral": "sk-test-key"},
        base_urls={fake.vendor: fake.base_url},
        timeout=timeout,
    )
    try:
        yield model
    finally:
        fake.script.clear()
        await model.aclose()  # type: ignore[attr-defined]


async def failure(fake: fakes.FakeLLM, step: fakes.Step) -> ApplicationError:
    before = len(fake.requests)
    async with adapter(fake, step) as model:
        with pytest.raises(ApplicationError) as info:
            await model.classify(BATCH)
    assert len(fake.requests) == before + 1, "the SDK retried on its own; Temporal must own retries"
    return info.value


async def test_a_good_answer_is_parsed_validated_and_priced(fake: fakes.FakeLLM) -> None:
    async with adapter(fake, fakes.GOOD) as model:
        answer = await model.classify(BATCH)
    # The fake answered with the offline model's reading of the customers it found in the prompt: the round
    # trip through the prompt loses nothing the verdict needs.
    assert answer.verdicts.rows == [verdict_for(c) for c in BATCH]
    assert answer.model == SPECS[fake.vendor] and answer.input_tokens > 100 and answer.output_tokens > 10
    for ctx, row in zip(BATCH, answer.verdicts.rows, strict=True):
        assert validate_row(row, ctx.bundle, ctx.profile.name, breakdown=ctx.breakdown) == (row, [])
    assert price_usd(answer.model, answer.input_tokens, answer.output_tokens) > 0
    sent = fake.requests[-1]
    body, headers = sent["body"], sent["headers"]
    if fake.vendor == "anthropic":
        # The SDK sends the key as x-api-key or, in recent versions, as a bearer token.
        assert "sk-test-key" in headers.get("x-api-key", "") + headers.get("authorization", "")
        assert body["tool_choice"] == {"type": "tool", "name": "record_batch_verdicts"}
        assert body["tools"][0]["input_schema"] == BatchVerdicts.model_json_schema()
    elif fake.vendor == "google":
        assert headers["x-goog-api-key"] == "sk-test-key"
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        assert "rows" in body["generationConfig"]["responseSchema"]["properties"]
    else:
        assert headers["authorization"] == "Bearer sk-test-key"
        assert body["response_format"]["json_schema"]["schema"] == BatchVerdicts.model_json_schema()
    assert "ops@" not in str(body), "the customer's contact address is never sent to a model"


# Customers whose evidence carries Slack messages a careless model could agree to.
TALKERS = [fabrication_corpus.customer(random.Random(70 + i), i)[0] for i in range(2)]


@pytest.mark.parametrize(
    "step, why",
    [(fakes.LITERAL_NUMBERS, "a number typed in the prose"), (fakes.QUOTED_COMMITMENT, "never a commitment")],
)
async def test_an_answer_typing_numbers_or_agreeing_to_customer_text_loses_its_email(
    fake: fakes.FakeLLM, step: str, why: str
) -> None:
    """Through each vendor's SDK: the answer parses (it is well-formed), and validation drops every email."""
    async with adapter(fake, fakes.GOOD, step) as model:
        honest = await model.classify(TALKERS)
        spoiled = await model.classify(TALKERS)
    for ctx, good, bad in zip(TALKERS, honest.verdicts.rows, spoiled.verdicts.rows, strict=True):
        assert good.email is not None and bad.email is not None
        kept, notes = validate_row(good, ctx.bundle, ctx.profile.name, breakdown=ctx.breakdown)
        assert kept.email is not None and notes == [], notes
        out, notes = validate_row(bad, ctx.bundle, ctx.profile.name, breakdown=ctx.breakdown)
        assert out.email is None and out.recommended_action == "internal_alert"
        assert out.classification == bad.classification  # the verdict stands; the email goes
        assert any(why in n for n in notes), notes


def test_the_prompt_lists_renderable_fields_quotability_and_offers() -> None:
    from schemas.offers import Offer

    ctx = TALKERS[0].model_copy(update={"offers": [Offer(name="loyalty", kind="discount", maximum=10)]})
    system, user = build_prompt([ctx])
    assert "{{fact:<source_id>#<field>}}" in system and "{{offer:<name>}}" in system
    payload = fakes.json.loads(user.split("Customers, as JSON:\n", 1)[1])[0]
    fields = {e["source_id"]: e.get("email_fields", []) for e in payload["evidence"]}
    late = next(i for i in ctx.bundle.items if i.kind == "invoice_paid_late")
    assert {"days_late", "amount_usd", "due_date"} <= set(fields[late.source_id])
    deal = next(i for i in ctx.bundle.items if i.kind == "expansion_deal_open")
    assert fields[deal.source_id] == []  # a CRM deal's name and amount are internal
    quotable = {e["source_id"]: e.get("quotable") for e in payload["evidence"] if "quotable" in e}
    assert set(quotable.values()) == {True, False}  # a benign question may be quoted, a hostile one not
    assert payload["offers"][0]["name"] == "loyalty" and payload["champion_known"] is True


async def test_a_canned_answer_and_the_supervisor_review_come_back_as_sent(fake: fakes.FakeLLM) -> None:
    canned = BatchVerdicts(rows=[verdict_for(BATCH[0]).model_copy(update={"severity": "HIGH"})])
    flag = RowFlag(
        customer_id=BATCH[1].profile.customer_id,
        classification="likely_churn",
        severity="HIGH",
        reason="Usage fell by half.",
    )
    review = SupervisorReview(flagged=[flag], systematic_drift=True, drift_reason="reads every late invoice as churn")
    async with adapter(fake, canned, review) as model:
        assert (await model.classify(BATCH)).verdicts == canned
        rows = [verdict_for(c) for c in BATCH]
        done = await model.ask(*supervisor_prompt(BATCH, rows), SupervisorReview)
        assert done.value == review
        third = await model.ask(*tiebreaker_prompt(BATCH[1], rows[1], flag), BatchVerdicts)
        assert third.value.rows == [verdict_for(BATCH[1])]


@pytest.mark.parametrize("step", [fakes.MALFORMED, fakes.SCHEMA_VIOLATION, fakes.TRUNCATED, fakes.REFUSAL])
async def test_an_unusable_answer_is_retryable_model_answer_invalid(fake: fakes.FakeLLM, step: str) -> None:
    err = await failure(fake, step)
    assert err.type == "ModelAnswerInvalid" and not err.non_retryable
    assert err.message.startswith(f"model {SPECS[fake.vendor]}: answer invalid")
    if step == fakes.TRUNCATED:
        assert "truncated" in err.message
    assert err.details and err.details[0]["input_tokens"] > 0  # what it cost still reaches the ledger


async def test_a_row_for_a_customer_outside_the_batch_is_invalid(fake: fakes.FakeLLM) -> None:
    stranger = verdict_for(customer(random.Random(999), 99))
    err = await failure(fake, BatchVerdicts(rows=[stranger]))
    assert err.type == "ModelAnswerInvalid" and stranger.customer_id in err.message


async def test_rate_limited_waits_as_long_as_the_vendor_said(fake: fakes.FakeLLM) -> None:
    fake.retry_after = 13
    try:
        err = await failure(fake, fakes.RATE_LIMITED)
    finally:
        fake.retry_after = 7
    assert err.type == "RateLimited" and not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=13)


async def test_overloaded_is_retryable(fake: fakes.FakeLLM) -> None:
    err = await failure(fake, fakes.OVERLOADED)
    assert err.type == "VendorUnavailable" and not err.non_retryable
    assert ("529" if fake.vendor == "anthropic" else "503") in err.message


async def test_rejected_credentials_are_not_retried(fake: fakes.FakeLLM) -> None:
    err = await failure(fake, fakes.UNAUTHORIZED)
    assert err.type == "CredentialsRejected" and err.non_retryable
    assert err.message.startswith(f"model {fake.vendor}: credentials rejected")


async def test_a_bad_gemini_key_reads_as_rejected_credentials_not_a_bad_request() -> None:
    google = fakes.start_fake_llm("google")
    try:
        # The Gemini API's real answer to a bad key: 400, reason API_KEY_INVALID.
        err = await failure(google, fakes.BAD_KEY)
    finally:
        google.stop()
    assert err.type == "CredentialsRejected" and err.non_retryable
    assert err.message.startswith("model google: credentials rejected")


async def test_a_slow_vendor_times_out_inside_the_sdk_and_is_retryable(fake: fakes.FakeLLM) -> None:
    async with adapter(fake, fakes.SLOW, timeout=0.5) as model:
        with pytest.raises(ApplicationError) as info:
            await model.classify(BATCH)
    assert info.value.type == "VendorUnavailable" and not info.value.non_retryable


async def test_an_unreachable_vendor_is_retryable() -> None:
    for vendor in SPECS:
        gone = fakes.start_fake_llm(vendor)
        gone.stop()
        async with adapter(gone) as model:
            with pytest.raises(ApplicationError) as info:
                await model.classify(BATCH)
        assert info.value.type == "VendorUnavailable" and not info.value.non_retryable, vendor


# ---- prompt, registry, prices ------------------------------------------------------------------------------


def test_prompt_bounds_and_answer_parsing() -> None:
    with pytest.raises(ValueError):
        build_prompt([])
    with pytest.raises(ValueError):
        build_prompt(BATCH * 4)
    system, user = build_prompt(BATCH)
    assert all(c.profile.customer_id in user for c in BATCH) and "source_id" in system
    rows = BatchVerdicts(rows=[verdict_for(c) for c in BATCH])
    text = rows.model_dump_json()
    assert parse_answer(text) == rows
    assert parse_answer(f"```json\n{text}\n```") == rows
    with pytest.raises(ModelAnswerError, match="truncated"):
        parse_answer(text[:-40])
    with pytest.raises(ModelAnswerError, match="not valid JSON"):
        parse_answer("{'rows': []}")
    with pytest.raises(ModelAnswerError, match="does not match BatchVerdicts"):
        parse_answer('{"rows": [{"customer_id": "c"}]}')
    with pytest.raises(ModelAnswerError, match="empty"):
        parse_answer("  ")
    assert 0 < count_tokens(system) < count_tokens(system + user)


def test_specs_keys_and_defaults() -> None:
    assert parse_spec("litellm:mistral/mistral-small") == ("litellm", "mistral/mistral-small")
    assert get_model("offline", keys={}, base_urls={}).name == "offline-factors-v1"
    for bad in ("claude-haiku-4-5", "azure:gpt-5", "anthropic:"):
        with pytest.raises(ValueError, match="model spec"):
            parse_spec(bad)
    with pytest.raises(ValueError, match="no API key for openai"):
        get_model("openai:gpt-5-mini", keys={"anthropic": "k"}, base_urls={})
    with pytest.raises(ValueError, match="timeout"):
        get_model("anthropic:claude-haiku-4-5", keys={"anthropic": "k"}, base_urls={}, timeout=60)
    vendors = [parse_spec(s)[0] for s in (*WORKER_BY_ROUTE.values(), SUPERVISOR, TIEBREAKER)]
    assert vendors == ["anthropic", "anthropic", "anthropic", "openai", "google"]


def test_prices_come_from_the_table_and_unknown_models_are_refused() -> None:
    for spec in (*WORKER_BY_ROUTE.values(), SUPERVISOR, TIEBREAKER, *SPECS.values()):
        assert price_usd(spec, 10_000, 1_000) > 0, spec
    assert price_usd("anthropic:claude-haiku-4-5", 1_000_000, 1_000_000) == pytest.approx(1.0 + 5.0)
    assert price_usd("offline", 10**6, 10**6) == 0
    with pytest.raises(UnknownModelPrice, match="litellm:acme/private-7b"):
        price_usd("litellm:acme/private-7b", 10, 10)
    assert price_usd("litellm:acme/private-7b", 10**6, 10**6, per_million=(0.5, 1.5)) == pytest.approx(2.0)


async def test_every_adapter_is_named_by_its_spec_and_can_be_asked_for_any_schema() -> None:
    for spec in SPECS.values():
        keys = {"anthropic": "k", "openai": "k", "google": "k", "mistral": "k"}
        model = get_model(spec, keys=keys, base_urls={})
        assert isinstance(model, StructuredModel) and model.name == spec
        await model.aclose()  # type: ignore[attr-defined]


# ---- TIER3: two of three -----------------------------------------------------------------------------------

CLASSES = ("expansion", "standard", "at_risk", "likely_churn")
SEVERITIES = ("LOW", "MEDIUM", "HIGH")
READINGS = list(itertools.product(CLASSES, SEVERITIES))


def reading(who: str, cls: str, sev: str) -> VerdictRow:
    return VerdictRow(
        customer_id="cus_1",
        classification=cls,
        severity=sev,
        cited_source_ids=[],  # type: ignore[arg-type]
        diary=f"{who} reads {cls}",
        recommended_action="none",
    )


@pytest.mark.parametrize("w", READINGS)
def test_resolve_every_combination_of_three_readings(w: tuple[str, str]) -> None:
    worker = reading("worker", *w)
    assert resolve(worker, None, None)[:2] == (worker, False)  # unflagged: the worker stands
    for s, t in itertools.product(READINGS, [*READINGS, None]):
        flag = RowFlag(customer_id="cus_1", classification=s[0], severity=s[1], reason="disagree")  # type: ignore[arg-type]
        tie = reading("tiebreaker", *t) if t else None
        row, human, audit = resolve(worker, flag, tie)
        votes = [("worker", *w), ("supervisor", *s)] + ([("tiebreaker", *t)] if t else [])
        agreeing = [v for v in votes if sum(1 for o in votes if o[1] == v[1]) >= 2]
        if not agreeing:
            assert (row, human, audit["outcome"]) == (worker, True, "split")
            continue
        top = agreeing[0][1]
        highest = max((v[2] for v in agreeing), key=SEVERITIES.index)
        source = worker if any(v[0] == "worker" for v in agreeing) else tie
        assert not human and audit["outcome"] == "agreed" and audit["classification"] == top
        assert row == source.model_copy(update={"severity": highest})  # type: ignore[union-attr]
        assert audit["chosen"] == ("worker" if source is worker else "tiebreaker")


def test_resolve_refuses_readings_of_different_customers() -> None:
    flag = RowFlag(customer_id="cus_2", classification="at_risk", severity="HIGH", reason="x")
    with pytest.raises(ValueError):
        resolve(reading("worker", "standard", "LOW"), flag, None)


async def test_the_stable_prefix_is_cached_the_vendors_way_and_reported_back() -> None:
    """Two calls with the same instructions and schema: the second reads the prefix from the vendor's cache, and
    the adapter reports it as the vendor does (Anthropic writes first, marked by cache_control; OpenAI and Gemini
    cache automatically and only report reads). LiteLLM-routed models are not cached here."""
    for vendor in ("anthropic", "openai", "google"):
        fake = fakes.start_fake_llm(vendor)
        try:
            async with adapter(fake, fakes.GOOD, fakes.GOOD) as model:
                first = await model.classify(BATCH)
                second = await model.classify(BATCH[:2])
        finally:
            fake.stop()
        assert second.cache_read_tokens > 1000 and second.cache_write_tokens == 0, vendor
        assert first.cache_read_tokens == 0 and first.input_tokens > second.cache_read_tokens, vendor
        assert first.cache_write_tokens == (second.cache_read_tokens if vendor == "anthropic" else 0), vendor
        sent = fake.requests[0]["body"]
        if vendor == "anthropic":
            assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
        elif vendor == "openai":
            assert sent["prompt_cache_key"] == "renewals-v1"
        # The customers come after the prefix: the two prompts share it byte for byte.
        assert fake.requests[0]["body"] != fake.requests[1]["body"]
        assert fakes.read_request(vendor, sent)[0] == fakes.read_request(vendor, fake.requests[1]["body"])[0]


def test_cache_writes_and_reads_and_batches_are_priced_from_the_table() -> None:
    from llm.litellm_table import load_litellm

    table = load_litellm().model_cost["claude-sonnet-4-6"]
    full = price_usd("anthropic:claude-sonnet-4-6", 10_000, 0)
    read = price_usd("anthropic:claude-sonnet-4-6", 10_000, 0, cache_read=4_000)
    written = price_usd("anthropic:claude-sonnet-4-6", 10_000, 0, cache_write=4_000)
    assert read == pytest.approx(6_000 * table["input_cost_per_token"] + 4_000 * table["cache_read_input_token_cost"])
    assert written == pytest.approx(
        6_000 * table["input_cost_per_token"] + 4_000 * table["cache_creation_input_token_cost"]
    )
    assert read < full < written
    assert price_usd("openai:gpt-5", 10_000, 1_000, batched=True) == pytest.approx(
        price_usd("openai:gpt-5", 10_000, 1_000) / 2
    )
    with pytest.raises(ValueError, match="part of the input"):
        price_usd("openai:gpt-5", 100, 0, cache_read=200)


def batch_requests(fake: fakes.FakeLLM) -> list[Any]:
    """What each vendor's SDK sent as the batch's requests: Anthropic's requests, OpenAI's JSONL input file,
    Gemini's inlined requests."""
    if fake.vendor == "anthropic":
        return [r for x in fake.requests if x["path"] == "/v1/messages/batches" for r in x["body"]["requests"]]
    if fake.vendor == "openai":
        uploads = [x["body"] for x in fake.requests if x["path"] == "/v1/files"]
        return [json.loads(line) for u in uploads for line in u["lines"].splitlines()]
    bodies = [x["body"] for x in fake.requests if x["path"].endswith(":batchGenerateContent")]
    return [r for b in bodies for r in b["batch"]["inputConfig"]["requests"]["requests"]]


@pytest.mark.parametrize("vendor", ["anthropic", "openai", "google"])
async def test_vendor_batches_through_the_sdk_create_poll_results_expiry_partial_failure(vendor: str) -> None:
    fake = fakes.start_fake_llm(vendor)
    fake.batch_script.extend([fakes.BATCH_SLOW, fakes.BATCH_EXPIRED, fakes.BATCH_PARTIAL, fakes.BATCH_STUCK])
    requests = {f"row-{i}": build_prompt([c]) for i, c in enumerate(BATCH)}
    try:
        async with adapter(fake) as model:
            slow = await model.submit_batch(requests, BatchVerdicts, key="rm-test-slow")
            assert [await model.batch_ended(slow) for _ in range(4)] == [False, False, True, True]
            done = await model.batch_results(slow, BatchVerdicts)
            assert set(done) == set(requests)
            for i, c in enumerate(BATCH):
                answer = done[f"row-{i}"]
                assert not isinstance(answer, str) and answer.value.rows == [verdict_for(c)] and answer.input_tokens
            expired = await model.submit_batch(requests, BatchVerdicts)
            assert await model.batch_ended(expired)
            gone = await model.batch_results(expired, BatchVerdicts)
            assert {result_for(gone, cid) for cid in requests} == {"expired"}
            partial = await model.submit_batch(requests, BatchVerdicts)
            assert await model.batch_ended(partial)
            mixed = await model.batch_results(partial, BatchVerdicts)
            assert mixed["row-0"] == "errored: prompt is too long" and not isinstance(mixed["row-1"], str)
            assert not isinstance(mixed["row-2"], str)  # one request failing costs that request only
            stuck = await model.submit_batch(requests, BatchVerdicts)
            assert not await model.batch_ended(stuck)
            await model.cancel_batch(stuck)
            assert await model.batch_ended(stuck)
            stopped = await model.batch_results(stuck, BatchVerdicts)
            assert {result_for(stopped, cid) for cid in requests} == {"canceled"}
            await model.cancel_batch(stuck)  # cancelling what has ended is no error
        sent = batch_requests(fake)[: len(requests)]
        assert len(sent) == len(requests)
        if vendor == "anthropic":
            assert [r["custom_id"] for r in sent] == list(requests)
            assert "cache_control" not in str(sent)  # batch requests are not cache-marked (see submit_batch)
        elif vendor == "openai":
            assert [(r["custom_id"], r["method"], r["url"]) for r in sent] == [
                (cid, "POST", "/v1/chat/completions") for cid in requests
            ]
            upload = next(x["body"] for x in fake.requests if x["path"] == "/v1/files")
            created = next(x["body"] for x in fake.requests if x["path"] == "/v1/batches")
            assert upload["purpose"] == "batch"
            assert created["completion_window"] == "24h" and created["endpoint"] == "/v1/chat/completions"
            assert created["metadata"] == {"renewals_key": "rm-test-slow"}
        else:
            assert [r["metadata"] for r in sent] == [{"key": cid} for cid in requests]
            assert all(r["request"]["generationConfig"]["responseMimeType"] == "application/json" for r in sent)
            created = next(x["body"] for x in fake.requests if x["path"].endswith(":batchGenerateContent"))
            assert created["batch"]["displayName"] == "rm-test-slow"
        # Priced at the table's batch rates: half the synchronous price.
        first = done["row-0"]
        assert not isinstance(first, str)
        spec = SPECS[vendor]
        assert price_usd(spec, first.input_tokens, first.output_tokens, batched=True) == pytest.approx(
            price_usd(spec, first.input_tokens, first.output_tokens) / 2
        )
    finally:
        fake.stop()


@pytest.mark.parametrize("vendor", ["anthropic", "openai", "google"])
async def test_a_batch_accepted_but_not_recorded_is_found_again_by_our_key(vendor: str) -> None:
    """The worker died after the vendor accepted the batch: a retry finds it by our key instead of paying twice."""
    fake = fakes.start_fake_llm(vendor)
    since = datetime.now(UTC) - timedelta(seconds=5)
    mine = {"rm-aaa-0": build_prompt(BATCH[:1])}
    other = {"rm-bbb-0": build_prompt(BATCH[1:2])}
    try:
        async with adapter(fake) as model:
            assert await model.find_batch("rm-aaa", mine, since) is None  # nothing submitted yet
            ours = await model.submit_batch(mine, BatchVerdicts, key="rm-aaa")
            if vendor == "anthropic":  # no batch metadata, and no results to match until a batch ends: a guess
                assert await model.find_batch("rm-aaa", mine, since) == Found(ours, certain=False)
            theirs = await model.submit_batch(other, BatchVerdicts, key="rm-bbb")
            if vendor == "anthropic":
                assert await model.find_batch("rm-aaa", mine, since) is None  # two in progress: no guess
                assert await model.batch_ended(ours) and await model.batch_ended(theirs)  # matched once ended
            assert await model.find_batch("rm-aaa", mine, since, claimed=[theirs]) == Found(ours)
            assert await model.find_batch("rm-aaa", mine, since) == Found(ours)
            assert await model.find_batch("rm-aaa", mine, since, claimed=[ours, theirs]) is None
            later = datetime.now(UTC) + timedelta(minutes=5)
            assert await model.find_batch("rm-aaa", mine, later) is None  # made before the intent: not ours
    finally:
        fake.stop()
