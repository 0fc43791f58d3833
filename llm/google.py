"""Gemini through the official Google GenAI SDK: JSON mime type plus the response schema; Gemini batch mode
(inlined requests) for the scheduled scan (llm/batch.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from typing import Any

from google import genai
from google.genai import errors, types
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from llm.base import CustomerContext, ModelAnswer
from llm.batch import EVERY_REQUEST, Found
from llm.prompt import (
    Completion,
    ModelAnswerError,
    T,
    check_timeout,
    classify_with,
    invalid_answer,
    parse_as,
    retry_after_of,
    vendor_error,
)

VENDOR = "google"
# Finish reasons that mean the model (or its filters) declined, rather than answered badly.
BLOCKED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "MODEL_ARMOR", "LANGUAGE"}
# A batch job in any of these will change no more.
FINAL = {
    types.JobState.JOB_STATE_SUCCEEDED,
    types.JobState.JOB_STATE_FAILED,
    types.JobState.JOB_STATE_EXPIRED,
    types.JobState.JOB_STATE_CANCELLED,
}
KEY = "key"  # the metadata entry of an inlined request naming it (its custom_id)
_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)s$")


def _details(e: errors.APIError) -> list[dict[str, Any]]:
    body = e.details if isinstance(e.details, dict) else {}
    found = body.get("error", body).get("details", [])
    return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []


def retry_delay(e: errors.APIError) -> float | None:
    """Google says when to retry in a RetryInfo detail ("7s"), not always in a Retry-After header."""
    headers = getattr(getattr(e, "response", None), "headers", None)
    from_header = retry_after_of(dict(headers)) if headers is not None else None
    if from_header is not None:
        return from_header
    for d in _details(e):
        m = _SECONDS.match(str(d.get("retryDelay", "")))
        if d.get("@type", "").endswith("google.rpc.RetryInfo") and m:
            return float(m.group(1))
    return None


def status_of(e: errors.APIError) -> int:
    """The Gemini API answers a bad key with 400 INVALID_ARGUMENT and reason API_KEY_INVALID; that is a
    credentials problem and must not read as a malformed request."""
    if e.code == 400 and any(d.get("reason") == "API_KEY_INVALID" for d in _details(e)):
        return 401
    return e.code


def _api_error(e: errors.APIError) -> ApplicationError:
    return vendor_error(VENDOR, status_of(e), e.message or str(e), retry_delay(e))


class GoogleModel:
    def __init__(
        self, model: str, api_key: str, base_url: str | None = None, timeout: float = 50.0, max_tokens: int = 16384
    ) -> None:
        self.model = model
        self.name = f"{VENDOR}:{model}"
        self.max_tokens = max_tokens
        # attempts=1: no SDK retries (Temporal owns them). The SDK takes its timeout in milliseconds.
        options = types.HttpOptions(
            base_url=base_url,
            timeout=int(check_timeout(timeout) * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=api_key, http_options=options)

    def _config(self, system: str, schema: type[BaseModel]) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            system_instruction=system,
            response_mime_type="application/json",
            response_schema=schema,
            max_output_tokens=self.max_tokens,
        )

    async def ask(self, system: str, user: str, schema: type[T]) -> Completion[T]:
        try:
            resp = await self._client.aio.models.generate_content(
                model=self.model, contents=user, config=self._config(system, schema)
            )
        except errors.APIError as e:
            raise _api_error(e) from e
        except (OSError, TimeoutError) as e:  # connection refused, reset, timed out: retryable, no status
            raise vendor_error(VENDOR, None, repr(e)) from e
        return self._completion(resp, schema)

    def _completion(self, resp: types.GenerateContentResponse, schema: type[T]) -> Completion[T]:
        usage = resp.usage_metadata
        tin = (usage.prompt_token_count or 0) if usage else 0
        # Implicit caching (llm/cache.py): promptTokenCount includes the tokens read from the cache.
        cached = (usage.cached_content_token_count or 0) if usage else 0
        # Thinking tokens are billed as output, so they count as output here.
        tout = ((usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)) if usage else 0
        feedback = resp.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            why = f"the prompt was blocked ({feedback.block_reason.value})"
            raise invalid_answer(self.name, why, tin, tout)
        if not resp.candidates:
            raise invalid_answer(self.name, "the answer has no candidates", tin, tout)
        reason = resp.candidates[0].finish_reason.value if resp.candidates[0].finish_reason else "STOP"
        if reason in BLOCKED:
            raise invalid_answer(self.name, f"the model declined (finish_reason {reason})", tin, tout)
        if reason == "MAX_TOKENS":
            raise invalid_answer(self.name, "the answer is truncated (finish_reason MAX_TOKENS)", tin, tout)
        try:
            value = parse_as(schema, resp.text)
        except ModelAnswerError as e:
            raise invalid_answer(self.name, str(e), tin, tout) from e
        return Completion(value, tin, tout, cache_read_tokens=cached)

    # ---- Gemini batch mode (llm/batch.py) ----------------------------------------------------------------

    async def submit_batch(
        self, requests: Mapping[str, tuple[str, str]], schema: type[BaseModel], key: str | None = None
    ) -> str:
        """custom_id -> (system, user) as inlined requests of one batch job, its display_name our key."""
        src = [
            types.InlinedRequest(contents=user, config=self._config(system, schema), metadata={KEY: cid})
            for cid, (system, user) in requests.items()
        ]
        config = types.CreateBatchJobConfig(display_name=key) if key else None
        try:
            job = await self._client.aio.batches.create(model=self.model, src=src, config=config)
        except errors.APIError as e:
            raise _api_error(e) from e
        except (OSError, TimeoutError) as e:
            raise vendor_error(VENDOR, None, repr(e)) from e
        return str(job.name)

    async def find_batch(
        self, key: str, custom_ids: Collection[str], since: dt.datetime, claimed: Collection[str] = ()
    ) -> Found | None:
        """The batch job our key names (its display_name), among the recent ones listed."""
        try:
            async for job in await self._client.aio.batches.list(config=types.ListBatchJobsConfig(page_size=100)):
                if job.display_name == key and job.name not in claimed:
                    return Found(str(job.name))
                if job.create_time is not None and job.create_time < since - dt.timedelta(minutes=1):
                    return None  # listed newest first: older ones were made before our intent
        except errors.APIError as e:
            raise _api_error(e) from e
        except (OSError, TimeoutError) as e:
            raise vendor_error(VENDOR, None, repr(e)) from e
        return None

    async def _job(self, batch_id: str) -> types.BatchJob:
        try:
            return await self._client.aio.batches.get(name=batch_id)
        except errors.APIError as e:
            raise _api_error(e) from e
        except (OSError, TimeoutError) as e:
            raise vendor_error(VENDOR, None, repr(e)) from e

    async def batch_ended(self, batch_id: str) -> bool:
        return (await self._job(batch_id)).state in FINAL

    async def batch_results(self, batch_id: str, schema: type[T]) -> dict[str, Completion[T] | str]:
        """custom_id -> the answer, or why there is none. A job that expired, was cancelled or failed holds no
        answers: every request is missing, named by the job's state."""
        job = await self._job(batch_id)
        if job.state != types.JobState.JOB_STATE_SUCCEEDED:
            why = {
                types.JobState.JOB_STATE_EXPIRED: "expired",
                types.JobState.JOB_STATE_CANCELLED: "canceled",
            }.get(job.state, f"errored: {job.error.message if job.error else job.state}")  # type: ignore[arg-type]
            return {EVERY_REQUEST: why}
        out: dict[str, Completion[T] | str] = {}
        for i, item in enumerate((job.dest.inlined_responses if job.dest else None) or []):
            cid = (item.metadata or {}).get(KEY, str(i))
            if item.error is not None or item.response is None:
                out[cid] = f"errored: {item.error.message if item.error else 'no response'}"
                continue
            try:
                out[cid] = self._completion(item.response, schema)
            except ApplicationError as e:
                out[cid] = f"invalid: {e.message}"
        return out

    async def cancel_batch(self, batch_id: str) -> None:
        try:
            await self._client.aio.batches.cancel(name=batch_id)
        except errors.APIError as e:
            if e.code not in (400, 404, 409):  # gone or already final: nothing to cancel
                raise _api_error(e) from e

    async def classify(self, batch: list[CustomerContext]) -> ModelAnswer:
        return await classify_with(self, batch)

    async def aclose(self) -> None:
        await self._client.aio.aclose()
