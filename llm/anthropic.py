"""Claude through the official Anthropic SDK: the answer schema as a forced tool, retries left to Temporal."""

from __future__ import annotations

import anthropic
from pydantic import BaseModel

from llm.base import CustomerContext, ModelAnswer
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

    async def ask(self, system: str, user: str, schema: type[T]) -> Completion[T]:
        tool = tool_name(schema)
        try:
            msg = await self._client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                # The breakpoint caches the tools and the instructions (Anthropic's order: tools, system,
                # messages); the customers come after it. See llm/cache.py.
                system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": user}],
                tools=[
                    {
                        "name": tool,
                        "description": f"Record the answer as {schema.__name__}.",
                        "input_schema": schema.model_json_schema(),
                    }
                ],
                tool_choice={"type": "tool", "name": tool},
            )
        except anthropic.APIStatusError as e:
            raise vendor_error(
                VENDOR, e.status_code, getattr(e, "api_message", None) or e.message, retry_after_of(e.response.headers)
            ) from e
        except anthropic.APIConnectionError as e:  # timeouts included: retryable, no status
            raise vendor_error(VENDOR, None, e.message) from e
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

    async def classify(self, batch: list[CustomerContext]) -> ModelAnswer:
        return await classify_with(self, batch)

    async def aclose(self) -> None:
        await self._client.close()
