"""What a model call cost, from LiteLLM's maintained price table (the copy shipped with the pinned version).

An unknown model is an error, not zero: the per-customer daily cap is only a cap if every call is priced. A
model the table does not know (a self-hosted one, a brand-new one) is priced by passing `per_million`
explicitly."""

from __future__ import annotations

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
    model_spec: str, input_tokens: int, output_tokens: int, *, per_million: tuple[float, float] | None = None
) -> float:
    """USD for one call: input and output tokens at the model's list price. The offline model is free."""
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError(f"token counts cannot be negative: {input_tokens}, {output_tokens}")
    if per_million is not None:
        return (input_tokens * per_million[0] + output_tokens * per_million[1]) / 1_000_000
    if parse_spec(model_spec)[0] == OFFLINE:
        return 0.0
    litellm = load_litellm()
    for key in table_keys(model_spec):
        if key in litellm.model_cost:
            # cost_per_token rather than a plain multiplication: it knows the tiered prices some models charge
            # above a context length.
            cin, cout = litellm.cost_per_token(model=key, prompt_tokens=input_tokens, completion_tokens=output_tokens)
            return float(cin) + float(cout)
    raise UnknownModelPrice(
        f"no list price for {model_spec} (looked up {', '.join(table_keys(model_spec))});"
        f" pass per_million=(input, output) USD per million tokens"
    )


def list_price_per_million(model_spec: str) -> tuple[float, float]:
    """(input, output) USD per million tokens at ordinary prompt sizes, for showing an operator what a model
    costs. Priced on a thousand tokens: a million in one call would hit the long-context tier some models
    charge."""
    return price_usd(model_spec, 1000, 0) * 1000, price_usd(model_spec, 0, 1000) * 1000
