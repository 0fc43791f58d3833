"""Vendor batch APIs for the scheduled scan: half the list price, answered within a day instead of a minute.

The scan is not interactive, so a worker call goes through the vendor's batch API when the route's model has one:
ClassifyBatchWorkflow submits it (an activity), waits with workflow timers and a poll activity (no worker is held
while it waits), then collects the answer. When the tenant's `batch_wait_seconds` runs out first, the batch is
cancelled and the same prompt is sent synchronously; so is a request the batch answered with an error or let
expire. A customer at its cost cap is finished offline before any of this and never enters a batch.

Wired: Anthropic's Message Batches (the worker of every route by default), OpenAI Batch (a JSONL file uploaded
with purpose "batch", then a batch on /v1/chat/completions within 24h) and Gemini batch mode (inlined requests).
LiteLLM-routed and offline models have no batch API. Anthropic batch requests carry no cache marker (see
AnthropicModel.submit_batch).

No duplicate batch after a crash: the worker may die after the vendor accepted a batch and before we saved its
id. So the submission is keyed (`batch_key`, ours, recorded before submitting) and the key travels with the batch
(OpenAI: metadata; Gemini: display_name; Anthropic, which has neither: in every custom_id). A retry that finds the
intent but no id asks `find_batch` before submitting again."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from llm.prompt import Completion, T


@dataclass(frozen=True)
class Found:
    """A batch find_batch took for ours. `certain`: matched on our key; otherwise a guess (Anthropic, a batch still
    in progress), never to be cancelled, since it may be another submission's."""

    batch_id: str
    certain: bool = True


EVERY_REQUEST = "*"  # a batch_results key: why no request of the batch has an answer (a job that failed whole)
BATCH_VENDORS: frozenset[str] = frozenset({"anthropic", "openai", "google"})
POLL_MAX_SECONDS = 60


@runtime_checkable
class BatchModel(Protocol):
    name: str

    async def submit_batch(
        self, requests: Mapping[str, tuple[str, str]], schema: type[BaseModel], key: str | None = None
    ) -> str: ...

    async def find_batch(
        self, key: str, custom_ids: Collection[str], since: dt.datetime, claimed: Collection[str] = ()
    ) -> Found | None: ...

    async def batch_ended(self, batch_id: str) -> bool: ...

    async def batch_results(self, batch_id: str, schema: type[T]) -> dict[str, Completion[T] | str]: ...

    async def cancel_batch(self, batch_id: str) -> None: ...


def batch_key(tenant_id: str, run_date: dt.date, batch_no: int, stage: str) -> str:
    """Our name for one submission, the same on every retry: short and plain enough for every vendor's field
    (Anthropic's custom_id allows 64 characters of [a-zA-Z0-9_-]), and no tenant name in the vendor's console."""
    digest = hashlib.sha256(f"{tenant_id}|{run_date.isoformat()}|{batch_no}|{stage}".encode()).hexdigest()
    return f"rm-{digest[:24]}"


def result_for(results: Mapping[str, Completion[T] | str], custom_id: str) -> Completion[T] | str:
    """One request's answer from batch_results, or why it has none."""
    return results.get(custom_id) or results.get(EVERY_REQUEST) or "missing"


def uses_batch_api(spec: str) -> bool:
    return spec.split(":", 1)[0] in BATCH_VENDORS


def poll_seconds(wait_seconds: int) -> int:
    """Poll about twenty times over the wait, at most once a minute: a four-hour wait polls every minute."""
    return max(1, min(POLL_MAX_SECONDS, wait_seconds // 20))
