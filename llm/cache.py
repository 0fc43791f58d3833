"""Prompt caching: what each vendor caches of our prompts, and from how many tokens.

Every prompt is built stable-prefix first: the instructions, then the answer schema (Anthropic's tool, OpenAI's
response_format, Gemini's response_schema), and only then the customers. What each vendor does with that prefix:

- Anthropic: explicit. The system block carries `cache_control: {"type": "ephemeral"}`; the tools come before the
  system in Anthropic's cache order, so the breakpoint caches tools + instructions. Writes cost 1.25x the input
  price, reads 0.1x, for five minutes after the last hit (a scan's batches run well inside that).
- OpenAI: automatic prefix caching of prompts of 1024 tokens and more, in 128-token steps; reads at the table's
  cache_read price. Nothing to mark: the prefix only has to stay byte-identical, which build_prompt guarantees
  (no date, count or id before the customers). `prompt_cache_key` names the prompt so requests sharing it are
  routed to the same cache.
- Gemini: implicit caching (on by default for 2.5 models), not explicit context caching. Explicit caching bills
  storage per hour for a cache object we would create and delete around every scan, for a prefix of a few
  thousand tokens read by a handful of tiebreaker calls a day; implicit caching has no storage fee and no object
  to manage, and gives the same discounted read when the prefix repeats.

Below a model's minimum nothing is cached, without any error: the request is simply billed in full. The
minimums are the vendors' published ones (the price table does not carry them)."""

from __future__ import annotations

from core.model_spec import parse_spec

# Published minimum cacheable prefix, in tokens. Anthropic: docs "Prompt caching" (Haiku 4.5 and Opus 4.5/4.6
# 4096, Sonnet 4.x 1024); OpenAI: 1024 for every model; Gemini API: implicit caching 2048 for 2.5 Pro and Flash.
MIN_TOKENS: dict[str, int] = {
    "anthropic:claude-haiku-4-5": 4096,
    "anthropic:claude-opus-4-5": 4096,
    "anthropic:claude-opus-4-6": 4096,
    "anthropic:claude-sonnet-4-6": 1024,
    "anthropic:claude-sonnet-4-5": 1024,
    "google:gemini-2.5-pro": 2048,
    "google:gemini-2.5-flash": 2048,
}
VENDOR_MIN_TOKENS = {"anthropic": 1024, "openai": 1024, "google": 2048}
PROMPT_CACHE_KEY = "renewals-v1"  # OpenAI's routing hint: one per prompt family, not per tenant or customer


def min_tokens(spec: str) -> int | None:
    """The smallest prefix the model caches, or None for a model that caches nothing (offline, LiteLLM-routed)."""
    vendor, _ = parse_spec(spec)
    if spec in MIN_TOKENS:
        return MIN_TOKENS[spec]
    return VENDOR_MIN_TOKENS.get(vendor)


def cached_prefix(spec: str, prefix_tokens: int) -> int:
    """How many of a prompt's leading `prefix_tokens` the vendor caches: all of them, or none below the minimum
    (OpenAI caches in 128-token steps)."""
    least = min_tokens(spec)
    if least is None or prefix_tokens < least:
        return 0
    if parse_spec(spec)[0] == "openai":
        return prefix_tokens - prefix_tokens % 128
    return prefix_tokens
