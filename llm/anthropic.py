"""Claude through the official Anthropic SDK: the answer schema as a forced tool, retries left to Temporal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import anthropic
from anthropic.types import Message
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from llm.base import CustomerContext, ModelAnswer
from llm.batch import Found
from llm.prompt import (
    Completion,
    ModelAnswerError,
    T,
    check_timeout,
    classify_with,
    invalid_answer,
    parse_as,
    retry_after_of,
    validate_payload,
    vendor_error,
)

VENDOR = "anthropic"


def _status_error(e: anthropic.APIStatusError) -> ApplicationError:
    return vendor_error(
        VENDOR, e.status_code, getattr(e, "api_message", None) or e.message, retry_after_of(e.response.headers)
    )


def tool_name(schema: type[BaseModel]) -> str:
    """BatchVerdicts -> record_batch_verdicts: a tool name the API accepts, telling the model what it does."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in schema.__name__).lstrip("_")
    return "record_" + snake


class AnthropicModel:
    def __init__(
        self, model: str, api_key: str, base_url: str | None = None, timeout: float = 50.0, max_tokens: int = 8192
    ) -> None:
        self.model = model
        self.name = f"{VENDOR}:{model}"
        self.max_tokens = max_tokens
        # max_retries=0: every attempt is a Temporal activity attempt, visible in the history.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=check_timeout(timeout), max_retries=0
        )

    def _params(self, system: str, user: str, schema: type[BaseModel], *, cache: bool = True) -> dict[str, Any]:
        tool = tool_name(schema)
        block: dict[str, Any] = {"type": "text", "text": system}
        if cache:
            # The breakpoint caches the tools and the instructions (Anthropic's order: tools, system, messages);
            # the customers come after it. See llm/cache.py.
            block["cache_control"] = {"type": "ephemeral"}
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": [block],
            "messages": [{"role": "user", "content": user}],
            "tools": [
                {
                    "name": tool,
                    "description": f"Record the answer as {schema.__name__}.",
                    "input_schema": schema.model_json_schema(),
                }
            ],
            "tool_choice": {"type": "tool", "name": tool},
        }

    async def ask(self, system: str, user: str, schema: type[T]) -> Completion[T]:
        try:
            msg = await self._client.messages.create(**self._params(system, user, schema))
        except anthropic.APIStatusError as e:
            raise _status_error(e) from e
        except anthropic.APIConnectionError as e:  # timeouts included: retryable, no status
            raise vendor_error(VENDOR, None, e.message) from e
        return self._completion(msg, schema)

    def _completion(self, msg: Message, schema: type[T]) -> Completion[T]:
        tool = tool_name(schema)
        # Anthropic's input_tokens leaves out what the cache wrote and read; ours counts every prompt token.
        written = msg.usage.cache_creation_input_tokens or 0
        read = msg.usage.cache_read_input_tokens or 0
        tin, tout = msg.usage.input_tokens + written + read, msg.usage.output_tokens
        if msg.stop_reason == "refusal":
            raise invalid_answer(self.name, "the model refused to answer", tin, tout)
        if msg.stop_reason in ("max_tokens", "model_context_window_exceeded"):
            raise invalid_answer(self.name, f"the answer is truncated (stop_reason {msg.stop_reason})", tin, tout)
        try:
            calls = [b for b in msg.content if b.type == "tool_use" and b.name == tool]
            if calls:
                value = validate_payload(schema, calls[0].input)
            else:  # a model that ignored the tool may still have written the JSON as text
                value = parse_as(schema, "".join(b.text for b in msg.content if b.type == "text"))
        except ModelAnswerError as e:
            raise invalid_answer(self.name, str(e), tin, tout) from e
        return Completion(value, tin, tout, cache_write_tokens=written, cache_read_tokens=read)

    # ---- Message Batches (llm/batch.py) --------------------------------------------------------------------

    async def submit_batch(
        self, requests: Mapping[str, tuple[str, str]], schema: type[BaseModel], key: str | None = None
    ) -> str:
        """One Message Batch of custom_id -> (system, user). Batch requests carry no cache marker: within a batch
        a cache hit is best-effort, while every write would be billed at 1.25x. A batch has no metadata of its
        own, so our key travels in the custom_ids the caller chose (see find_batch)."""
        try:
            batch = await self._client.messages.batches.create(
                requests=[
                    {"custom_id": cid, "params": self._params(system, user, schema, cache=False)}  # type: ignore[typeddict-item]
                    for cid, (system, user) in requests.items()
                ]
            )
        except anthropic.APIStatusError as e:
            raise _status_error(e) from e
        except anthropic.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e
        return batch.id

    async def find_batch(
        self, key: str, custom_ids: Collection[str], since: dt.datetime, claimed: Collection[str] = ()
    ) -> Found | None:
        """Our batch among those created since the intent (listed newest first), none already claimed by another
        submission. An ended one is matched on our custom_ids in its results; one still in progress cannot show
        its requests, so it is taken when it is the only candidate, and collect checks the custom_id (a wrong
        guess costs a synchronous read, never a wrong answer)."""
        in_progress: list[str] = []
        try:
            async for b in self._client.messages.batches.list(limit=100):
                if b.created_at < since - dt.timedelta(minutes=1):  # a minute of clock skew
                    break
                if b.id in claimed:
                    continue
                if b.processing_status != "ended":
                    in_progress.append(b.id)
                    continue
                async for item in await self._client.messages.batches.results(b.id):
                    if item.custom_id in custom_ids:
                        return Found(b.id)
        except anthropic.APIStatusError as e:
            raise _status_error(e) from e
        except anthropic.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e
        return Found(in_progress[0], certain=False) if len(in_progress) == 1 else None

    async def batch_ended(self, batch_id: str) -> bool:
        try:
            return (await self._client.messages.batches.retrieve(batch_id)).processing_status == "ended"
        except anthropic.APIStatusError as e:
            raise _status_error(e) from e
        except anthropic.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e

    async def batch_results(self, batch_id: str, schema: type[T]) -> dict[str, Completion[T] | str]:
        """custom_id -> the answer, or why there is none (errored, expired, canceled, invalid)."""
        out: dict[str, Completion[T] | str] = {}
        try:
            async for item in await self._client.messages.batches.results(batch_id):
                result = item.result
                if result.type != "succeeded":
                    detail = getattr(getattr(getattr(result, "error", None), "error", None), "message", "")
                    out[item.custom_id] = f"{result.type}{': ' + detail if detail else ''}"
                    continue
                try:
                    out[item.custom_id] = self._completion(result.message, schema)
                except ApplicationError as e:
                    out[item.custom_id] = f"invalid: {e.message}"
        except anthropic.APIStatusError as e:
            raise _status_error(e) from e
        except anthropic.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e
        return out

    async def cancel_batch(self, batch_id: str) -> None:
        try:
            await self._client.messages.batches.cancel(batch_id)
        except anthropic.APIStatusError as e:
            if e.status_code not in (404, 409):  # gone or already ended: nothing to cancel
                raise _status_error(e) from e

    async def classify(self, batch: list[CustomerContext]) -> ModelAnswer:
        return await classify_with(self, batch)

    async def aclose(self) -> None:
        await self._client.close()
