"""GPT through the official OpenAI SDK: Chat Completions with a json_schema response format."""

from __future__ import annotations

import openai
from pydantic import BaseModel

from llm.base import CustomerContext, ModelAnswer
from llm.cache import PROMPT_CACHE_KEY
from llm.prompt import (
    Completion,
    T,
    chat_completion_answer,
    check_timeout,
    classify_with,
    retry_after_of,
    vendor_error,
)

VENDOR = "openai"


def response_format(schema: type[BaseModel]) -> dict[str, object]:
    # strict=False: strict mode demands every property be required, and our schemas have optional fields with
    # defaults. The answer is validated by pydantic either way.
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": False},
    }


def error_message(e: openai.APIStatusError) -> str:
    body = e.body if isinstance(e.body, dict) else {}
    err = body.get("error", body)
    return str(err.get("message") or e.message) if isinstance(err, dict) else e.message


class OpenAIModel:
    def __init__(
        self, model: str, api_key: str, base_url: str | None = None, timeout: float = 50.0, max_tokens: int = 16384
    ) -> None:
        self.model = model
        self.name = f"{VENDOR}:{model}"
        # Reasoning models spend part of this on hidden reasoning, hence more room than Claude's.
        self.max_tokens = max_tokens
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=check_timeout(timeout), max_retries=0
        )  # Temporal owns retries

    async def ask(self, system: str, user: str, schema: type[T]) -> Completion[T]:
        try:
            resp = await self._client.chat.completions.create(  # type: ignore[call-overload]
                model=self.model,
                max_completion_tokens=self.max_tokens,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                response_format=response_format(schema),
                prompt_cache_key=PROMPT_CACHE_KEY,  # automatic prefix caching: see llm/cache.py
            )
        except openai.APIStatusError as e:
            raise vendor_error(VENDOR, e.status_code, error_message(e), retry_after_of(e.response.headers)) from e
        except openai.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e
        tin = resp.usage.prompt_tokens if resp.usage else 0
        tout = resp.usage.completion_tokens if resp.usage else 0
        details = resp.usage.prompt_tokens_details if resp.usage else None
        cached = (details.cached_tokens or 0) if details else 0
        refusal = resp.choices[0].message.refusal if resp.choices else None
        return chat_completion_answer(self.name, schema, resp.choices, refusal, tin, tout, cached)

    async def classify(self, batch: list[CustomerContext]) -> ModelAnswer:
        return await classify_with(self, batch)

    async def aclose(self) -> None:
        await self._client.close()
