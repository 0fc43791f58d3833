"""GPT through the official OpenAI SDK: Chat Completions with a json_schema response format; OpenAI Batch for
the scheduled scan (llm/batch.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from typing import Any, Final

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from llm.base import CustomerContext, ModelAnswer
from llm.batch import Found
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
ENDPOINT: Final = "/v1/chat/completions"
KEY_FIELD = "renewals_key"  # the batch's metadata entry naming our submission (llm/batch.py)
# A batch in any of these will change no more; "failed" is a batch whose input did not validate.
FINAL = {"completed", "failed", "expired", "cancelled"}


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


def _status_error(e: openai.APIStatusError) -> ApplicationError:
    return vendor_error(VENDOR, e.status_code, error_message(e), retry_after_of(e.response.headers))


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

    def _body(self, system: str, user: str, schema: type[BaseModel]) -> dict[str, Any]:
        return {
            "model": self.model,
            "max_completion_tokens": self.max_tokens,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": response_format(schema),
            "prompt_cache_key": PROMPT_CACHE_KEY,  # automatic prefix caching: see llm/cache.py
        }

    async def ask(self, system: str, user: str, schema: type[T]) -> Completion[T]:
        try:
            resp = await self._client.chat.completions.create(**self._body(system, user, schema))
        except openai.APIStatusError as e:
            raise _status_error(e) from e
        except openai.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e
        return self._completion(resp, schema)

    def _completion(self, resp: ChatCompletion, schema: type[T]) -> Completion[T]:
        tin = resp.usage.prompt_tokens if resp.usage else 0
        tout = resp.usage.completion_tokens if resp.usage else 0
        details = resp.usage.prompt_tokens_details if resp.usage else None
        cached = (details.cached_tokens or 0) if details else 0
        refusal = resp.choices[0].message.refusal if resp.choices else None
        return chat_completion_answer(self.name, schema, resp.choices, refusal, tin, tout, cached)

    # ---- OpenAI Batch (llm/batch.py) ---------------------------------------------------------------------

    async def submit_batch(
        self, requests: Mapping[str, tuple[str, str]], schema: type[BaseModel], key: str | None = None
    ) -> str:
        """custom_id -> (system, user) as a JSONL input file (purpose "batch"), then one batch on Chat Completions
        within 24 hours, its metadata naming our submission."""
        lines = [
            {"custom_id": cid, "method": "POST", "url": ENDPOINT, "body": self._body(system, user, schema)}
            for cid, (system, user) in requests.items()
        ]
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        try:
            upload = await self._client.files.create(file=(f"{key or 'batch'}.jsonl", data), purpose="batch")
            batch = await self._client.batches.create(
                input_file_id=upload.id,
                endpoint=ENDPOINT,
                completion_window="24h",
                metadata={KEY_FIELD: key} if key else None,
            )
        except openai.APIStatusError as e:
            raise _status_error(e) from e
        except openai.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e
        return batch.id

    async def find_batch(
        self, key: str, custom_ids: Collection[str], since: dt.datetime, claimed: Collection[str] = ()
    ) -> Found | None:
        """The batch our key names, among those created since the intent was recorded (newest first)."""
        try:
            async for b in self._client.batches.list(limit=100):
                if b.created_at < since.timestamp() - 60:  # a minute of clock skew between us and the vendor
                    return None
                if (b.metadata or {}).get(KEY_FIELD) == key and b.id not in claimed:
                    return Found(b.id)
        except openai.APIStatusError as e:
            raise _status_error(e) from e
        except openai.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e
        return None

    async def batch_ended(self, batch_id: str) -> bool:
        try:
            return (await self._client.batches.retrieve(batch_id)).status in FINAL
        except openai.APIStatusError as e:
            raise _status_error(e) from e
        except openai.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e

    async def batch_results(self, batch_id: str, schema: type[T]) -> dict[str, Completion[T] | str]:
        """custom_id -> the answer, or why there is none: the output file holds the answered requests, the
        error file the failed ones and, after expiry or cancellation, the ones never run."""
        out: dict[str, Completion[T] | str] = {}
        try:
            batch = await self._client.batches.retrieve(batch_id)
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    text = (await self._client.files.content(file_id)).text
                    for line in filter(None, text.splitlines()):
                        item = json.loads(line)
                        out[item["custom_id"]] = self._batch_line(item, schema)
        except openai.APIStatusError as e:
            raise _status_error(e) from e
        except openai.APIConnectionError as e:
            raise vendor_error(VENDOR, None, e.message) from e
        return out

    def _batch_line(self, item: dict[str, Any], schema: type[T]) -> Completion[T] | str:
        response, err = item.get("response") or {}, item.get("error") or {}
        if response.get("status_code") == 200:
            try:
                return self._completion(ChatCompletion.model_validate(response["body"]), schema)
            except ApplicationError as e:
                return f"invalid: {e.message}"
        code = err.get("code") or ""
        if code == "batch_expired":
            return "expired"
        if code == "batch_cancelled":
            return "canceled"
        body = response.get("body")
        said = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
        message = err.get("message") or said or f"status {response.get('status_code')}"
        return f"errored: {message}"

    async def cancel_batch(self, batch_id: str) -> None:
        try:
            await self._client.batches.cancel(batch_id)
        except openai.APIStatusError as e:
            if e.status_code not in (400, 404, 409):  # gone or already final: nothing to cancel
                raise _status_error(e) from e

    async def classify(self, batch: list[CustomerContext]) -> ModelAnswer:
        return await classify_with(self, batch)

    async def aclose(self) -> None:
        await self._client.close()
