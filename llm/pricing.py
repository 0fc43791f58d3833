"""What a model call cost, from LiteLLM's maintained price table (the copy shipped with the pinned version).

An unknown model is an error, not zero: the per-customer daily cap is only a cap if every call is priced. A
model the table does not know (a self-hosted one, a brand-new one) is priced by passing `per_million`
explicitly."""

from __future__ import annotations

from typing import Any

from core.model_spec import OFFLINE, parse_spec
from llm.litellm_table import load_litellm


class UnknownModelPrice(ValueError):
    """The price table has no entry for this model; pass per_million=(input, output) USD per Mtok."""


def table_keys(spec: str) -> list[str]:
    """The names LiteLLM files a spec under, most specific first. Google's Gemini API is LiteLLM's "gemini"
    provider; the bare "gemini-…" names are Vertex AI's, priced the same today, not promised to stay so."""
    vendor, model = parse_spec(spec)
    if vendor == "google":
        return [f"gemini/{model}", model]
    if vendor in ("anthropic", "openai"):
        return [model, f"{vendor}/{model}"]
    if vendor == "litellm":
        provider, _, bare = model.partition("/")
        return [model, bare] if bare else [model]
    return []


def price_usd(
    model_spec: str,
    input_tokens: int,
    output_tokens: int,
    *,
    per_million: tuple[float, float] | None = None,
    cache_write: int = 0,
    cache_read: int = 0,
    batched: bool = False,
) -> float:
    """USD for one call, at the model's list price. `input_tokens` counts every prompt token, cached ones
    included (as OpenAI and Gemini report it); `cache_write` and `cache_read` of them are priced at the table's
    cache_creation_input_token_cost and cache_read_input_token_cost, and `batched` at its *_batches prices (a
    vendor batch API, half price). The offline model is free."""
    if min(input_tokens, output_tokens, cache_write, cache_read) < 0:
        raise ValueError(
            f"token counts cannot be negative: {input_tokens}, {output_tokens}, {cache_write}, {cache_read}"
        )
    if cache_write + cache_read > input_tokens:
        raise ValueError(f"cached tokens ({cache_write} + {cache_read}) are part of the input ({input_tokens})")
    if per_million is not None:
        return (input_tokens * per_million[0] + output_tokens * per_million[1]) / 1_000_000
    if parse_spec(model_spec)[0] == OFFLINE:
        return 0.0
    litellm = load_litellm()
    for key in table_keys(model_spec):
        if key in litellm.model_cost:
            if batched:
                return _batch_price(litellm, key, input_tokens, output_tokens, cache_write, cache_read)
            # cost_per_token rather than a plain multiplication: it knows the tiered prices some models charge
            # above a context length, and the cache rates.
            cin, cout = litellm.cost_per_token(
                model=key,
                prompt_tokens=input_tokens,
                completion_tokens=output_tokens,
                cache_creation_input_tokens=cache_write,
                cache_read_input_tokens=cache_read,
            )
            return float(cin) + float(cout)
    raise UnknownModelPrice(
        f"no list price for {model_spec} (looked up {', '.join(table_keys(model_spec))});"
        f" pass per_million=(input, output) USD per million tokens"
    )


def _batch_price(litellm: Any, key: str, tin: int, tout: int, cache_write: int, cache_read: int) -> float:
    from litellm.cost_calculator import batch_cost_calculator
    from litellm.types.utils import PromptTokensDetailsWrapper, Usage

    usage = Usage(
        prompt_tokens=tin,
        completion_tokens=tout,
        total_tokens=tin + tout,
        prompt_tokens_details=PromptTokensDetailsWrapper(cached_tokens=cache_read, cache_creation_tokens=cache_write),
        cache_read_input_tokens=cache_read,
        cache_creation_input_tokens=cache_write,
    )
    cin, cout = batch_cost_calculator(usage, key)
    return float(cin) + float(cout)


def list_price_per_million(model_spec: str) -> tuple[float, float]:
    """(input, output) USD per million tokens at ordinary prompt sizes, for showing an operator what a model
    costs. Priced on a thousand tokens: a million in one call would hit the long-context tier some models
    charge."""
    return price_usd(model_spec, 1000, 0) * 1000, price_usd(model_spec, 0, 1000) * 1000
