"""Model specs ("vendor:model") to adapters, and the default model of each tier.

Keys are passed in, never read from the process environment: a tenant brings its own, and one tenant must not
silently run on a key the operator exported for another.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.model_spec import OFFLINE, VENDORS, parse_spec
from llm.base import Model
from llm.offline import OfflineModel

__all__ = ["OFFLINE", "VENDORS", "get_model", "key_for", "parse_spec"]

# The defaults by role. TIER3 crosses vendors on purpose, so one vendor's blind spot is not checked by itself.
TIER1 = "anthropic:claude-haiku-4-5"  # quiet accounts: fast and cheap
TIER2 = "anthropic:claude-sonnet-4-6"  # accounts that moved
TIER3_WORKER = TIER2  # the highest stakes start from the same worker...
SUPERVISOR = "openai:gpt-5"  # ...read again as a batch by a second vendor
TIEBREAKER = "google:gemini-2.5-pro"  # ...and a third decides a row the first two disagree on
WORKER_BY_ROUTE = {"TIER1": TIER1, "TIER2": TIER2, "TIER3": TIER3_WORKER}


def key_for(vendor: str, model: str, keys: Mapping[str, str]) -> str | None:
    """LiteLLM fronts many providers, so its key may be filed under the provider ("mistral") or under
    "litellm"."""
    if vendor == "litellm":
        return keys.get(model.split("/", 1)[0]) or keys.get("litellm")
    return keys.get(vendor)


def get_model(spec: str, *, keys: Mapping[str, str], base_urls: Mapping[str, str], timeout: float = 50.0) -> Model:
    """The adapter for `spec`, built with the vendor's official SDK. A vendor spec with no key is refused
    here, at configuration time, rather than as a 401 on the first scan."""
    vendor, model = parse_spec(spec)
    # Adapters are imported on demand: each SDK takes time to import (LiteLLM seconds), and a tenant on the
    # offline model should not pay for four of them.
    if vendor == OFFLINE:
        return OfflineModel()
    key = key_for(vendor, model, keys)
    base_url = base_urls.get(vendor)
    if vendor == "litellm":  # local providers (ollama, vLLM) need no key
        from llm.litellm import LiteLLMModel

        return LiteLLMModel(model, key, base_url, timeout)
    if not key:
        raise ValueError(f"model {spec}: no API key for {vendor}; add one in the tenant's settings or use 'offline'")
    if vendor == "anthropic":
        from llm.anthropic import AnthropicModel

        return AnthropicModel(model, key, base_url, timeout)
    if vendor == "openai":
        from llm.openai import OpenAIModel

        return OpenAIModel(model, key, base_url, timeout)
    from llm.google import GoogleModel

    return GoogleModel(model, key, base_url, timeout)
