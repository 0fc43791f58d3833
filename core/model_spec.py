"""Model specs ("vendor:model"): which model answers a role, as text an admin types. Pure parsing, so the API
can refuse a bad spec without importing any model adapter (llm/registry.py turns a spec into one)."""

from __future__ import annotations

OFFLINE = "offline"
OFFLINE_NAME = "offline-factors-v1"  # the offline model's own name, as recorded on its verdicts
VENDORS = ("anthropic", "openai", "google", "litellm")


def parse_spec(spec: str) -> tuple[str, str]:
    """("anthropic", "claude-haiku-4-5") from "anthropic:claude-haiku-4-5"; ("offline", "") for the offline
    model."""
    spec = spec.strip()
    if spec in (OFFLINE, OFFLINE_NAME):
        return OFFLINE, ""
    vendor, sep, model = spec.partition(":")
    if not sep or not model or vendor not in VENDORS:
        raise ValueError(
            f"model spec {spec!r} is not 'offline' or '<vendor>:<model>' with vendor one of "
            f"{', '.join(VENDORS)} (e.g. 'anthropic:claude-haiku-4-5', "
            f"'litellm:mistral/mistral-small')"
        )
    return vendor, model
