"""Any other model through LiteLLM (bring your own key): OpenAI-style json_schema response format.

litellm itself is imported through llm/litellm_table.py, so its offline price table is chosen before anything
reads it.
"""

from __future__ import annotations

import json

from llm.base import CustomerContext, ModelAnswer
from llm.litellm_table import load_litellm
from llm.openai import response_format
from llm.prompt import (
    Completion,
    T,
    chat_completion_answer,
    check_timeout,
    classify_with,
    retry_after_of,
    vendor_error,
)

VENDOR = "litellm"


def _vendor_message(e: Exception) -> str:
    """LiteLLM wraps the provider's error body in its own prefix; the provider's sentence is what helps."""
    text = str(getattr(e, "message", None) or e)
    start = text.find("{")
    try:
        body = json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        return text
    err = body.get("error", body) if isinstance(body, dict) else None
    return str(err["message"]) if isinstance(err, dict) and err.get("message") else text


def _status_and_headers(e: Exception) -> tuple[int | None, dict[str, str]]:
    status = getattr(e, "status_code", None)
    response = getattr(e, "response", None)
    headers = dict(getattr(response, "headers", None) or {})
    headers.update(getattr(e, "litellm_response_headers", None) or {})
    return (
        int(status) if isinstance(status, int | str) and str(status).isdigit() else None,
        {k.lower(): str(v) for k, v in headers.items()},
    )


class LiteLLMModel:
    """`model` is LiteLLM's own name, provider first: "mistral/mistral-small", "ollama/llama3.1"."""

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 50.0,
        max_tokens: int = 8192,
    ) -> None:
        self.model = model
        self.name = f"{VENDOR}:{model}"
        self.api_key = api_key
        self.base_url = base_url
        self.timeout = check_timeout(timeout)
        self.max_tokens = max_tokens
        self._litellm = load_litellm()

    async def ask(self, system: str, user: str, schema: type[T]) -> Completion[T]:
        lit = self._litellm
        try:
            resp = await lit.acompletion(
                model=self.model,
                api_key=self.api_key,
                api_base=self.base_url,
                timeout=self.timeout,
                num_retries=0,
                max_retries=0,  # Temporal owns retries, in LiteLLM and in the SDK below it
                max_tokens=self.max_tokens,
                response_format=response_format(schema),
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            )
        except lit.exceptions.APIConnectionError as e:  # before the status errors: it carries a made-up 500
            raise vendor_error(VENDOR, None, str(e)) from e
        except lit.exceptions.Timeout as e:
            raise vendor_error(VENDOR, 408, str(e)) from e
        except Exception as e:
            status, headers = _status_and_headers(e)
            if status is None:
                raise
            raise vendor_error(VENDOR, status, _vendor_message(e), retry_after_of(headers)) from e
        usage = getattr(resp, "usage", None)
        tin = int(getattr(usage, "prompt_tokens", 0) or 0)
        tout = int(getattr(usage, "completion_tokens", 0) or 0)
        # LiteLLM keeps an OpenAI-style refusal among the provider-specific fields of its message.
        refusal = (
            (getattr(resp.choices[0].message, "provider_specific_fields", None) or {}).get("refusal")
            if resp.choices
            else None
        )
        return chat_completion_answer(self.name, schema, resp.choices, refusal, tin, tout)

    async def classify(self, batch: list[CustomerContext]) -> ModelAnswer:
        return await classify_with(self, batch)

    async def aclose(self) -> None:
        return None  # LiteLLM pools its own clients
