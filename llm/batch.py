"""Vendor batch APIs for the scheduled scan: half the list price, answered within a day instead of a minute.

The scan is not interactive, so a worker call goes through the vendor's batch API when the route's model has one:
ClassifyBatchWorkflow submits it (an activity), waits with workflow timers and a poll activity (no worker is held
while it waits), then collects the answer. When the tenant's `batch_wait_seconds` runs out first, the batch is
cancelled and the same prompt is sent synchronously; so is a request the batch answered with an error or let
expire. A customer at its cost cap is finished offline before any of this and never enters a batch.

Wired today: Anthropic's Message Batches (the worker of every route by default). OpenAI Batch and Gemini batch
mode (the TIER3 supervisor and tiebreaker) are not yet: those calls stay synchronous, and LiteLLM-routed and
offline models have no batch API. Batch requests carry no cache marker (see AnthropicModel.submit_batch)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from llm.prompt import Completion, T

BATCH_VENDORS: frozenset[str] = frozenset({"anthropic"})
POLL_MAX_SECONDS = 60


@runtime_checkable
class BatchModel(Protocol):
    name: str

    async def submit_batch(self, requests: Mapping[str, tuple[str, str]], schema: type[BaseModel]) -> str: ...

    async def batch_ended(self, batch_id: str) -> bool: ...

    async def batch_results(self, batch_id: str, schema: type[T]) -> dict[str, Completion[T] | str]: ...

    async def cancel_batch(self, batch_id: str) -> None: ...


def uses_batch_api(spec: str) -> bool:
    return spec.split(":", 1)[0] in BATCH_VENDORS


def poll_seconds(wait_seconds: int) -> int:
    """Poll about twenty times over the wait, at most once a minute: a four-hour wait polls every minute."""
    return max(1, min(POLL_MAX_SECONDS, wait_seconds // 20))
