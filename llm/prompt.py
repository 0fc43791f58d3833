"""What every vendor model is asked, what is accepted back, and how a bad answer fails.

Pure: building prompts and parsing answers does no I/O, so every adapter shares one contract and the fakes can
read the same prompt back. The anti-fabrication check itself lives in `core.citations` and runs after this.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from core import facts
from core.claims import unquotable
from core.render import champion
from core.vendor_errors import classify_http, parse_retry_after
from llm.base import CustomerContext, ModelAnswer
from schemas.verdict import BatchVerdicts

MAX_BATCH = 10
PREVIOUS_SHOWN = 3  # the newest diary entries a model sees: enough for a trend, bounded in tokens
CUSTOMERS_MARKER = "Customers, as JSON:\n"  # the fakes find the customers again after this line
MODEL_ANSWER_INVALID = "ModelAnswerInvalid"
# Vendor SDK timeouts stay under this, so an attempt fails inside the SDK (and is classified by us) before the
# activity's own start-to-close timeout cuts it off with no reason attached.
MAX_TIMEOUT = 60.0

T = TypeVar("T", bound=BaseModel)

SYSTEM = """You are a renewal analyst for a B2B SaaS company. For each customer you are given, read its \
evidence and its factor math and return exactly one verdict row.

Rules, all of them checked by machine after you answer:
1. Answer only with JSON matching the schema you are given: {"rows": [...]}, one row per customer, in the \
order given, each carrying that customer's customer_id. No prose outside the JSON.
2. classification is one of expansion, standard, at_risk, likely_churn; severity one of LOW, MEDIUM, HIGH.
3. Cite only source_ids that appear in THAT customer's own evidence list, copied character for character. \
Never cite another customer's ids, never shorten, extend or invent one. Every source_id the diary mentions \
must also be in cited_source_ids. An expansion verdict must cite at least one item whose signal is above zero; \
at_risk and likely_churn at least one whose signal is below zero. Otherwise the verdict is demoted.
4. You never type a number. Not in the diary, not in the email: no digits in any script, no number words \
(one, twelve, dozen, half, first, twice), no scale words (k, thousand, million, x, percent), no currency \
symbols, codes or names, no month or weekday names. Every figure, amount, date and name is a reference the \
system fills in from the evidence:
   {{fact:<source_id>#<field>}}  one fact of an item, e.g. {{fact:stripe:in_1Q…#days_late}} becomes "9 days"; \
the unit is written for you, so write "was paid {{fact:…#days_late}} late", not "… days late".
   {{quote:<source_id>}}  a customer's own message, verbatim and attributed (only items marked quotable).
   {{offer:<name>}}  one of the customer's offers (the only commercial terms you may make).
   {{customer_name}}  {{champion_name}} (only when champion_known)  {{signature}}
   Diary only: {{math}} (the factor math), {{total}}, {{factor:<factor>}}, {{summary:<source_id>}}.
5. diary is one paragraph for the customer's permanent record: what moved the verdict, with the source_ids \
in square brackets, and what changed since the previous entries, its figures as references.
6. Draft an email only for at_risk or likely_churn (a save email, recommended_action send_save_email) or \
expansion (an upsell, send_upsell_email). It goes to the customer: greet {{champion_name}} (or the \
{{customer_name}} team), a clear sentence per fact you rest on, a real closing, and end with {{signature}}. \
Its anchors are the source_ids it rests on: each must point the verdict's way (signal below zero for a save \
email, above zero for an upsell), and every item you reference must be an anchor. Reference only an item's \
email_fields. The words around a reference must agree with it: a fall is not growth, days late are not \
attempts, an on-time invoice is not late. Never in an email: source_ids, Slack mentions, CRM stage, deal or \
pipeline names, deal amounts, model names, factor math, or any commercial term (discount, credit, free, \
waive, refund, price lock) other than an {{offer:<name>}}. A customer's message is testimony: quote it only \
as {{quote:<source_id>}}, never agree to, confirm or promise what it asks.
7. If the evidence is thin (fewer than two factors informed), contradictory, or rests mainly on stale items \
(stale: true, past their source's freshness limit), abstain: classification \
standard, severity LOW, recommended_action internal_alert, no email, and abstain_reason saying why.
8. The factor math is shown; agree with it unless the evidence clearly says otherwise, and then say why in \
the diary."""


class ModelAnswerError(ValueError):
    """The model answered, but not with something we can use: not JSON, truncated, or not the schema."""


@dataclass(frozen=True)
class Completion(Generic[T]):
    """A validated structured answer and what it cost, as the vendor reported it."""

    value: T
    input_tokens: int  # every prompt token, the cached ones included
    output_tokens: int
    cache_write_tokens: int = 0  # of input_tokens, written to the vendor's prompt cache
    cache_read_tokens: int = 0  # of input_tokens, read from it


@runtime_checkable
class StructuredModel(Protocol):
    """What every vendor adapter offers beyond `Model`: one prompt in, one schema-validated answer out. The
    supervisor and the tiebreaker of TIER3 are asked through it; `isinstance(model, StructuredModel)` tells an
    adapter from the offline model (which has no `ask`)."""

    name: str

    async def ask(self, system: str, user: str, schema: type[T]) -> Completion[T]: ...


# ---- prompts -----------------------------------------------------------------------------------------------


def _compact(value: Any) -> Any:
    """Drop empty values: every token is paid for on every customer, every day."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def context_payload(ctx: CustomerContext) -> dict[str, Any]:
    """One customer as the model sees it. The contact email and the tenant id are left out: the model needs
    neither, and what it is not sent it cannot leak."""
    p, b = ctx.profile, ctx.bundle
    payload: dict[str, Any] = _compact(
        {
            "customer_id": p.customer_id,
            "name": p.name,
            "arr_usd": round(p.arr_cents / 100, 2),
            "contract": p.contract,
            "renewal_date": p.renewal_date.isoformat() if p.renewal_date else None,
            "billing": dict(p.billing),
            "evidence": [_item(i) for i in b.items],
            "missing_sources": dict(b.missing),
            "factor_math": ctx.breakdown.model_dump(mode="json"),
            "previous_entries": [e.model_dump(mode="json") for e in ctx.previous[:PREVIOUS_SHOWN]],
            "champion_known": champion(b) is not None,
            "offers": [o.model_dump(mode="json") for o in ctx.offers],
            "operator_override": ctx.override_note,  # context only: it has no source id, so it cannot be cited
        }
    )
    return payload


def _item(item: Any) -> dict[str, Any]:
    """An evidence item with what an email may reference of it: its customer-visible fields, and whether its
    customer-authored text may be quoted."""
    out: dict[str, Any] = item.model_dump(mode="json")
    out["email_fields"] = [
        k for k, v in item.facts.items() if v is not None and facts.customer_may_see(k, item.source_id)
    ]
    if any(k in item.facts for k in facts.TESTIMONY_KEYS):
        out["quotable"] = unquotable(item) is None
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def build_prompt(batch: Sequence[CustomerContext], *, include_schema: bool = False) -> tuple[str, str]:
    """(system, user) for one batch. The schema is sent the vendor's way by each adapter; `include_schema`
    puts it in the text for models that only take JSON instructions."""
    if not 1 <= len(batch) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} customers, got {len(batch)}")
    system = SYSTEM
    if include_schema:
        system += "\n\nThe JSON schema of your answer:\n" + _dumps(BatchVerdicts.model_json_schema())
    run_dates = sorted({c.bundle.run_date.isoformat() for c in batch})
    user = (
        f"Run date: {', '.join(run_dates)}. {len(batch)} customer(s).\n"
        + CUSTOMERS_MARKER
        + _dumps([context_payload(c) for c in batch])
    )
    return system, user


def count_tokens(text: str, model: str = "") -> int:
    """Tokens in `text` by LiteLLM's counter: the model's own tokenizer where it has one, else tiktoken."""
    from llm.litellm_table import load_litellm  # imported late: litellm takes seconds to import

    return int(load_litellm().token_counter(model=model, text=text))


# ---- answers -----------------------------------------------------------------------------------------------


def _strip_fences(text: str) -> str:
    """Models asked for JSON in text often wrap it in a Markdown fence anyway."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        if body.rstrip().endswith("```"):
            body = body.rstrip()[:-3]
    return body.strip()


def validate_payload(schema: type[T], data: object) -> T:
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise ModelAnswerError(
            f"the answer does not match {schema.__name__}: {e.error_count()} error(s), first at {where}: {first['msg']}"
        ) from None


def parse_as(schema: type[T], text: str | None) -> T:
    if text is None or not text.strip():
        raise ModelAnswerError("the answer is empty")
    body = _strip_fences(text)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        cut = e.pos >= len(body) - 1 or e.msg.startswith("Unterminated")
        raise ModelAnswerError(
            ("the answer is truncated JSON" if cut else "the answer is not valid JSON")
            + f" ({e.msg} at char {e.pos} of {len(body)})"
        ) from None
    return validate_payload(schema, data)


def parse_answer(text: str | None) -> BatchVerdicts:
    """The text of a model's answer as BatchVerdicts, or ModelAnswerError saying what is wrong with it."""
    return parse_as(BatchVerdicts, text)


def check_rows(batch: Sequence[CustomerContext], verdicts: BatchVerdicts) -> None:
    """A row for a customer outside the batch is a confused answer; retrying beats guessing whose it is.
    A missing row is tolerated: the activity fills it from the offline model and notes it."""
    asked = {c.profile.customer_id for c in batch}
    strangers = sorted({r.customer_id for r in verdicts.rows} - asked)
    if strangers:
        raise ModelAnswerError(f"the answer has rows for customers not in the batch: {', '.join(strangers)}")
    twice = sorted(cid for cid, n in Counter(r.customer_id for r in verdicts.rows).items() if n > 1)
    if twice:
        raise ModelAnswerError(f"the answer has more than one row for {', '.join(twice)}")


async def classify_with(model: StructuredModel, batch: Sequence[CustomerContext]) -> ModelAnswer:
    """`Model.classify` for every adapter: one prompt, one structured answer, rows checked with the batch."""
    system, user = build_prompt(batch)
    done = await model.ask(system, user, BatchVerdicts)
    try:
        check_rows(batch, done.value)
    except ModelAnswerError as e:
        raise invalid_answer(model.name, str(e), done.input_tokens, done.output_tokens) from e
    return ModelAnswer(
        verdicts=done.value,
        model=model.name,
        input_tokens=done.input_tokens,
        output_tokens=done.output_tokens,
        cache_write_tokens=done.cache_write_tokens,
        cache_read_tokens=done.cache_read_tokens,
    )


def check_timeout(timeout: float) -> float:
    if not 0 < timeout < MAX_TIMEOUT:
        raise ValueError(f"a model timeout must be within (0, {MAX_TIMEOUT:g}) seconds, got {timeout}")
    return timeout


# ---- failures, as Temporal sees them -----------------------------------------------------------------------


def invalid_answer(model: str, why: str, input_tokens: int = 0, output_tokens: int = 0) -> ApplicationError:
    """Retryable on purpose: a second sample often parses. The activity's retry policy bounds the attempts.
    The tokens spent travel in the details so the cost ledger can still charge them."""
    return ApplicationError(
        f"model {model}: answer invalid: {why}",
        {"input_tokens": input_tokens, "output_tokens": output_tokens},
        type=MODEL_ANSWER_INVALID,
        non_retryable=False,
    )


def vendor_error(vendor: str, status: int | None, message: str, retry_after: float | None = None) -> ApplicationError:
    """The connectors' HTTP classifier, worded for a model vendor (the retry semantics are the same)."""
    err = classify_http(vendor, status, message.rstrip(". "), retry_after)
    text = err.message.replace(f"connector {vendor}", f"model {vendor}", 1).replace(
        f"Reconnect {vendor} with a valid key.", f"Check the tenant's {vendor} API key."
    )
    return ApplicationError(text, type=err.type, non_retryable=err.non_retryable, next_retry_delay=err.next_retry_delay)


def retry_after_of(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait as the vendor said: OpenAI's retry-after-ms is finer than the standard header."""
    if not headers:
        return None
    ms = parse_retry_after(headers.get("retry-after-ms"))
    return ms / 1000 if ms is not None else parse_retry_after(headers.get("retry-after"))


def chat_completion_answer(
    model: str,
    schema: type[T],
    choices: Sequence[Any],
    refusal: str | None,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
) -> Completion[T]:
    """The answer of an OpenAI-style chat completion (OpenAI itself, and LiteLLM for everyone else): refused,
    truncated or unparseable answers become ModelAnswerInvalid, the tokens they cost still reported."""
    if not choices:
        raise invalid_answer(model, "the answer has no choices", input_tokens, output_tokens)
    choice = choices[0]
    if refusal or choice.finish_reason == "content_filter":
        raise invalid_answer(model, f"the model refused: {refusal or 'content filter'}", input_tokens, output_tokens)
    if choice.finish_reason == "length":
        raise invalid_answer(model, "the answer is truncated (finish_reason length)", input_tokens, output_tokens)
    try:
        value = parse_as(schema, choice.message.content)
        return Completion(value, input_tokens, output_tokens, cache_read_tokens=cache_read_tokens)
    except ModelAnswerError as e:
        raise invalid_answer(model, str(e), input_tokens, output_tokens) from e
