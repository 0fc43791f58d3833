"""Local stand-ins for the model vendors, speaking their wire formats closely enough for the official SDKs.

    handle = start_fake_llm("anthropic", ["rate_limited", "good"])
    model = AnthropicModel("claude-haiku-4-5", "sk-test", handle.base_url)
    ...
    handle.stop()

Each call takes the next step of the script (then "good" forever): a good answer (the offline model's verdicts
for the customers in the prompt, or a canned payload given as a dict or pydantic model), or one of the
failures below, each in the vendor's own error format. Tests and the demo only; loopback only."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from llm.base import CustomerContext, PreviousEntry
from llm.offline import verdict_for
from llm.prompt import CUSTOMERS_MARKER
from schemas.evidence import CustomerProfile, EvidenceBundle, EvidenceItem
from schemas.offers import Offer
from schemas.verdict import BatchVerdicts, FactorBreakdown

GOOD, MALFORMED, SCHEMA_VIOLATION = "good", "malformed", "schema_violation"
TRUNCATED, REFUSAL = "truncated", "refusal"
RATE_LIMITED, OVERLOADED, UNAUTHORIZED = "rate_limited", "overloaded", "unauthorized"
BAD_KEY = "bad_key"  # what the Gemini API really answers to a wrong key: 400 with reason API_KEY_INVALID
INVENTED_CITATION = "invented_citation"  # health readings that cite a source the account does not have
SLOW = "slow"  # a good answer after SLOW_SECONDS: longer than a test's client timeout
LITERAL_NUMBERS = "literal_numbers"  # the good answer with every fact typed out as a number, as models used to
QUOTED_COMMITMENT = "quoted_commitment"  # the good answer agreeing to what a customer's message asked
SLOW_SECONDS = 3.0
# Message Batches (Anthropic's batch API): how the next batch submitted behaves.
BATCH_ENDED = "batch_ended"  # every request answered, ended by the first poll
BATCH_SLOW = "batch_slow"  # still in progress for two polls, then ended
BATCH_STUCK = "batch_stuck"  # never ends by itself (a deadline must give up on it and cancel it)
BATCH_EXPIRED = "batch_expired"  # ended with every request expired, as after 24 hours
BATCH_PARTIAL = "batch_partial"  # ended; the first request errored, the rest answered
Step = str | dict[str, Any] | BaseModel
VENDORS = ("anthropic", "openai", "google", "litellm")
_RUN_DATE = re.compile(r"Run date: (\d{4}-\d{2}-\d{2})")


@dataclass
class FakeLLM:
    vendor: str
    root: str  # http://127.0.0.1:<port>
    base_url: str  # what the vendor's SDK (or LiteLLM's api_base) is given
    retry_after: int = 7
    script: deque[Step] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)  # path, headers and JSON body of every call
    # Prompt caching as the vendors do it (llm/cache.py): a prefix of at least this many tokens is written on first
    # sight (Anthropic: only when marked with cache_control) and read after.
    cache_min_tokens: int = 1024
    cached: set[str] = field(default_factory=set)
    batch_script: deque[str] = field(default_factory=deque)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> status, polls left, results
    files: dict[str, bytes] = field(default_factory=dict)  # OpenAI's uploaded batch input and its result files
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, *steps: Step) -> None:
        with self._lock:
            self.script.extend(steps)

    def next_step(self, request: dict[str, Any]) -> Step:
        with self._lock:
            self.requests.append(request)
            return self.script.popleft() if self.script else GOOD

    def cache_usage(self, vendor: str, body: dict[str, Any]) -> tuple[int, int]:
        """(written, read) prompt-cache tokens for a request: its stable prefix (the schema and the instructions)
        when long enough, and for Anthropic only when the request marks it."""
        system, _, schema, _ = read_request(vendor, body)
        if vendor == "anthropic" and not any(
            isinstance(b, dict) and b.get("cache_control") for b in body.get("system") or []
        ):
            return 0, 0
        prefix = json.dumps(schema, sort_keys=True) + system
        tokens = _tokens(prefix)
        if tokens < self.cache_min_tokens:
            return 0, 0
        with self._lock:
            seen = prefix in self.cached
            self.cached.add(prefix)
        if vendor == "openai":  # cached in 128-token steps, and never reported as written
            return 0, (tokens - tokens % 128) if seen else 0
        if vendor == "google":  # implicit caching: reads only
            return 0, tokens if seen else 0
        return (0, tokens) if seen else (tokens, 0)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)


# ---- reading the prompt back -------------------------------------------------------------------------------


def contexts_from_prompt(user: str) -> list[CustomerContext]:
    """The inverse of llm.prompt.context_payload, for what the offline model needs to answer."""
    if CUSTOMERS_MARKER not in user:
        return []
    run = _RUN_DATE.search(user)
    payloads = json.loads(user.split(CUSTOMERS_MARKER, 1)[1])
    out = []
    for p in payloads:
        cid = p["customer_id"]
        profile = CustomerProfile(
            tenant_id="fake",
            customer_id=cid,
            name=p["name"],
            email=None,
            arr_cents=round(p.get("arr_usd", 0) * 100),
            contract=p.get("contract"),
            renewal_date=p.get("renewal_date"),
            billing=p.get("billing", {}),
        )
        items = [EvidenceItem.model_validate({"summary": "", **e}) for e in p.get("evidence", [])]
        bundle = EvidenceBundle(
            tenant_id="fake",
            customer_id=cid,
            items=items,
            run_date=dt.date.fromisoformat(run.group(1)) if run else dt.date.min,
            missing=p.get("missing_sources", {}),
        )
        math = FactorBreakdown.model_validate({"pushed_by": None, **p["factor_math"]})
        previous = [PreviousEntry.model_validate(e) for e in p.get("previous_entries", [])]
        offers = [Offer.model_validate(o) for o in p.get("offers", [])]
        out.append(CustomerContext(profile=profile, bundle=bundle, breakdown=math, previous=previous, offers=offers))
    return out


def health_payload(user: str, invent: bool = False) -> dict[str, Any]:
    """A health reading per account: the rules' own, phrased as a model would; `invent` cites an id that is not
    in the account's evidence (what the validation must catch)."""
    from core.health import ACCOUNTS_MARKER, assess

    rows = []
    for a in json.loads(user.split(ACCOUNTS_MARKER, 1)[1]):
        items = [EvidenceItem.model_validate({"summary": "", **e}) for e in a["evidence"]]
        h = assess(a["customer_id"], a["name"], a["arr_usd"], items)
        rows.append(
            {
                "customer_id": h.customer_id,
                "tier": "cold" if invent else h.tier,
                "recommendation": h.recommendation,
                "cites": "stripe:in_INVENTED0000001" if invent else h.cites,
            }
        )
    return {"rows": rows}


_FACT = re.compile(r"\{\{fact:([^{}#]+)#(\w+)\}\}")


def lying_payload(user: str, how: str) -> dict[str, Any]:
    """The good answer, spoiled as a careless model would: facts typed as numbers (`LITERAL_NUMBERS`), or a line
    agreeing to what the customer asked in the shared channel (`QUOTED_COMMITMENT`)."""
    rows = []
    for ctx in contexts_from_prompt(user):
        row = verdict_for(ctx)
        if row.email is not None:
            values = {(i.source_id, k): v for i in ctx.bundle.items for k, v in i.facts.items()}
            body = row.email.body
            if how == LITERAL_NUMBERS:
                body = _FACT.sub(lambda m, v=values: str(v.get((m.group(1), m.group(2)), "")), body)
                anchors = row.email.anchors
            else:
                said = next((i for i in ctx.bundle.items if "text" in i.facts), None)
                line = "- As your team asked, we confirm " + (
                    f"{{{{quote:{said.source_id}}}}}" if said else "the discount you wanted."
                )
                body = body.replace("\n\nBest regards", f"\n{line}\n\nBest regards")
                anchors = row.email.anchors + ([said.source_id] if said else [])
            row = row.model_copy(update={"email": row.email.model_copy(update={"body": body, "anchors": anchors})})
        rows.append(row)
    return BatchVerdicts(rows=rows).model_dump(mode="json")


def good_payload(user: str, schema: object) -> dict[str, Any]:
    if "flagged" in json.dumps(schema):  # a supervisor review: the fake supervisor finds nothing to flag
        return {"flagged": [], "systematic_drift": False}
    if "recommendation" in json.dumps(schema):  # a health reading (core.health.HealthAnswer)
        return health_payload(user)
    rows = [verdict_for(c) for c in contexts_from_prompt(user)]
    return BatchVerdicts(rows=rows).model_dump(mode="json")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


def read_request(vendor: str, body: dict[str, Any]) -> tuple[str, str, object, str]:
    """(system, user, requested schema, tool name) from a request in the vendor's format."""
    if vendor == "anthropic":
        tool = (body.get("tool_choice") or {}).get("name", "")
        schema = next((t.get("input_schema") for t in body.get("tools", []) if t.get("name") == tool), None)
        return _text(body.get("system")), _text(body["messages"][-1]["content"]), schema, tool
    if vendor == "google":
        cfg = body.get("generationConfig", {})
        user = "".join(_text(c.get("parts")) for c in body.get("contents", []))
        schema = cfg.get("responseSchema") or cfg.get("responseJsonSchema")
        return _text((body.get("systemInstruction") or {}).get("parts")), user, schema, ""
    by_role = {m["role"]: _text(m["content"]) for m in body["messages"]}
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
    return by_role.get("system", ""), by_role.get("user", ""), schema, ""


# ---- answering in each vendor's format ---------------------------------------------------------------------


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def answer(
    vendor: str,
    model: str,
    kind: str,
    text: str | None,
    tin: int,
    tool: str = "",
    payload: dict[str, Any] | None = None,
    cache: tuple[int, int] = (0, 0),
) -> dict[str, Any]:
    """A 200 response body. `kind` is good, malformed, truncated or refusal; `text` the answer's JSON text;
    `cache` the (written, read) prompt-cache tokens among the `tin` prompt tokens, reported the vendor's way."""
    tout = _tokens(text or "")
    written, read = cache
    if vendor == "anthropic":
        stop = {GOOD: "tool_use", MALFORMED: "end_turn", TRUNCATED: "max_tokens", REFUSAL: "refusal"}[kind]
        if kind == GOOD:
            content: list[dict[str, Any]] = [
                {"type": "tool_use", "id": f"toolu_fake{tin}", "name": tool, "input": payload}
            ]
        elif kind == TRUNCATED:  # the tool call was cut off before its input was complete
            content = [{"type": "tool_use", "id": f"toolu_fake{tin}", "name": tool, "input": {}}]
        else:
            content = [{"type": "text", "text": text or ""}] if text else []
        return {
            "id": f"msg_fake{tin}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            # Anthropic's input_tokens are the ones after the last cache breakpoint.
            "usage": {
                "input_tokens": tin - written - read,
                "output_tokens": tout,
                "cache_creation_input_tokens": written,
                "cache_read_input_tokens": read,
            },
        }
    if vendor == "google":
        usage = {"promptTokenCount": tin, "candidatesTokenCount": tout, "totalTokenCount": tin + tout}
        if read:
            usage["cachedContentTokenCount"] = read
        if kind == REFUSAL:
            return {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage, "modelVersion": model}
        reason = {GOOD: "STOP", MALFORMED: "STOP", TRUNCATED: "MAX_TOKENS"}[kind]
        candidate = {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": reason, "index": 0}
        return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": f"fake{tin}"}
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if kind == REFUSAL:
        message = {"role": "assistant", "content": None, "refusal": "I'm sorry, I can't help with that request."}
    return {
        "id": f"chatcmpl-fake{tin}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "length" if kind == TRUNCATED else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": tin,
            "completion_tokens": tout,
            "total_tokens": tin + tout,
            "prompt_tokens_details": {"cached_tokens": read},
        },
    }


def error(vendor: str, kind: str, retry_after: int) -> JSONResponse:
    """The vendor's error: status, headers and body as its API sends them."""
    status = {RATE_LIMITED: 429, OVERLOADED: 529 if vendor == "anthropic" else 503, UNAUTHORIZED: 401, BAD_KEY: 400}[
        kind
    ]
    headers = {"retry-after": str(retry_after)} if kind == RATE_LIMITED and vendor != "google" else {}
    if vendor == "anthropic":
        etype = {
            429: "rate_limit_error",
            529: "overloaded_error",
            401: "authentication_error",
            400: "invalid_request_error",
        }[status]
        message = {
            429: "Number of request tokens has exceeded your per-minute rate limit",
            529: "Overloaded",
            401: "invalid x-api-key",
            400: "invalid request",
        }[status]
        body: dict[str, Any] = {"type": "error", "error": {"type": etype, "message": message}, "request_id": "req_fake"}
        headers["request-id"] = "req_fake"
    elif vendor == "google":
        gstatus = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 401: "UNAUTHENTICATED", 400: "INVALID_ARGUMENT"}
        message = {
            429: "You exceeded your current quota, please check your plan and billing details.",
            503: "The model is overloaded. Please try again later.",
            401: "Request had invalid authentication credentials.",
            400: "API key not valid. Please pass a valid API key.",
        }[status]
        details: list[dict[str, Any]] = []
        if status == 429:
            details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"}]
        if status == 400:
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ]
        body = {"error": {"code": status, "message": message, "status": gstatus[status], "details": details}}
    else:
        etype, code, message = {
            429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests per min."),
            503: ("server_error", None, "The server is overloaded or not ready yet."),
            401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-test****."),
            400: ("invalid_request_error", None, "invalid request"),
        }[status]
        body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def respond(fake: FakeLLM, vendor: str, model: str, step: Step, body: dict[str, Any]) -> JSONResponse:
    system, user, schema, tool = read_request(vendor, body)
    cache = fake.cache_usage(vendor, body)
    tin = max(_tokens(system + user), sum(cache))
    if isinstance(step, BaseModel | dict):
        payload = step.model_dump(mode="json") if isinstance(step, BaseModel) else step
        return JSONResponse(answer(vendor, model, GOOD, json.dumps(payload), tin, tool, payload, cache))
    if step in (RATE_LIMITED, OVERLOADED, UNAUTHORIZED, BAD_KEY):
        return error(vendor, step, fake.retry_after)
    if step == MALFORMED:  # an unquoted value and a trailing comma: not JSON at all
        broken = '{"rows": [{"customer_id": "c", "x": at_risk, }]}'
        return JSONResponse(answer(vendor, model, MALFORMED, broken, tin))
    if step == REFUSAL:
        return JSONResponse(answer(vendor, model, REFUSAL, None, tin))
    if step == SCHEMA_VIOLATION:  # well-formed JSON, wrong shape: a model ignoring the schema
        ids = [c.profile.customer_id for c in contexts_from_prompt(user)] or ["cus_unknown"]
        payload = {"rows": [{"customer_id": ids[0], "classification": "maybe", "severity": "SEVERE"}]}
        return JSONResponse(answer(vendor, model, GOOD, json.dumps(payload), tin, tool, payload, cache))
    if step == INVENTED_CITATION:
        payload = health_payload(user, invent=True)
        return JSONResponse(answer(vendor, model, GOOD, json.dumps(payload), tin, tool, payload, cache))
    if step in (LITERAL_NUMBERS, QUOTED_COMMITMENT):
        payload = lying_payload(user, step)
        return JSONResponse(answer(vendor, model, GOOD, json.dumps(payload), tin, tool, payload, cache))
    if step not in (GOOD, TRUNCATED):
        raise ValueError(f"unknown fake step {step!r}")
    payload = good_payload(user, schema)
    text = json.dumps(payload)
    if step == TRUNCATED:  # cut mid-answer, as when the output token limit is hit
        return JSONResponse(answer(vendor, model, TRUNCATED, text[: len(text) // 2], tin, tool))
    return JSONResponse(answer(vendor, model, GOOD, text, tin, tool, payload, cache))


def _batch_object(fake: FakeLLM, bid: str) -> dict[str, Any]:
    b = fake.batches[bid]
    ended = b["status"] == "ended"
    kinds = [r["result"]["type"] for r in b["results"]]
    counts = {k: kinds.count(k) if ended else 0 for k in ("succeeded", "errored", "canceled", "expired")}
    return {
        "id": bid,
        "type": "message_batch",
        "processing_status": b["status"],
        "request_counts": counts | {"processing": 0 if ended else len(kinds)},
        "created_at": b["created_at"].isoformat(),
        "expires_at": (b["created_at"] + dt.timedelta(days=1)).isoformat(),
        "ended_at": "2026-11-22T06:10:00Z" if ended else None,
        "cancel_initiated_at": b.get("canceled_at"),
        "archived_at": None,
        "results_url": f"{fake.root}/v1/messages/batches/{bid}/results" if ended else None,
    }


def _batch_results(fake: FakeLLM, step: str, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, r in enumerate(requests):
        if step == BATCH_EXPIRED:
            result: dict[str, Any] = {"type": "expired"}
        elif step == BATCH_PARTIAL and i == 0:
            error = {"type": "invalid_request_error", "message": "prompt is too long"}
            result = {"type": "errored", "error": {"type": "error", "error": error}}
        else:
            message = json.loads(bytes(respond(fake, "anthropic", r["params"]["model"], GOOD, r["params"]).body))
            result = {"type": "succeeded", "message": message}
        out.append({"custom_id": r["custom_id"], "result": result})
    return out


def add_batch_routes(app: FastAPI, fake: FakeLLM) -> None:
    """Anthropic's Message Batches: create, retrieve, results (JSON Lines at results_url), cancel."""

    @app.post("/v1/messages/batches")
    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        with fake._lock:
            fake.requests.append({"path": request.url.path, "headers": dict(request.headers), "body": body})
            step = fake.batch_script.popleft() if fake.batch_script else BATCH_ENDED
            bid = f"msgbatch_fake{len(fake.batches) + 1:04d}"
        polls = {BATCH_SLOW: 2, BATCH_STUCK: 10**9}.get(step, 0)
        results = _batch_results(fake, step, body["requests"])
        now = dt.datetime.now(dt.UTC)
        fake.batches[bid] = {"status": "in_progress", "polls": polls, "results": results, "created_at": now}
        return JSONResponse(_batch_object(fake, bid))

    @app.get("/v1/messages/batches")
    async def listing() -> JSONResponse:
        data = [_batch_object(fake, bid) for bid in reversed(fake.batches)]  # newest first
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return JSONResponse({"data": data, "has_more": False, "first_id": first, "last_id": last})

    @app.get("/v1/messages/batches/{bid}")
    async def retrieve(bid: str) -> JSONResponse:
        b = fake.batches[bid]
        if b["status"] == "in_progress":
            if b["polls"] <= 0:
                b["status"] = "ended"
            b["polls"] -= 1
        return JSONResponse(_batch_object(fake, bid))

    @app.get("/v1/messages/batches/{bid}/results")
    async def results(bid: str) -> Response:
        lines = "\n".join(json.dumps(r) for r in fake.batches[bid]["results"])
        return Response(lines + "\n", media_type="application/binary")

    @app.post("/v1/messages/batches/{bid}/cancel")
    async def cancel(bid: str) -> JSONResponse:
        b = fake.batches[bid]
        if b["status"] == "in_progress":
            b.update(status="ended", canceled_at="2026-11-22T09:00:00Z")
            b["results"] = [{"custom_id": r["custom_id"], "result": {"type": "canceled"}} for r in b["results"]]
        return JSONResponse(_batch_object(fake, bid))


def build_app(fake: FakeLLM) -> FastAPI:
    from sandbox.llm_batch_fakes import add_google_batch_routes, add_openai_batch_routes, create_gemini_batch

    app = FastAPI(openapi_url=None)
    add_batch_routes(app, fake)
    # OpenAI's /v1/batches/{id} and Gemini's v1 /v1/batches/{name} share a path: each fake serves its own.
    if fake.vendor == "openai":
        add_openai_batch_routes(app, fake)
    if fake.vendor == "google":
        add_google_batch_routes(app, fake)

    async def handle(vendor: str, model: str, request: Request) -> JSONResponse:
        body = await request.json()
        step = fake.next_step({"path": request.url.path, "headers": dict(request.headers), "body": body})
        if step == SLOW:
            await asyncio.sleep(SLOW_SECONDS)
            step = GOOD
        return respond(fake, vendor, model, step, body)

    @app.post("/v1/messages")
    async def anthropic_messages(request: Request) -> JSONResponse:
        return await handle("anthropic", "claude-fake", request)

    @app.post("/v1/chat/completions")
    async def openai_chat(request: Request) -> JSONResponse:
        return await handle("openai", "gpt-fake", request)

    @app.post("/v1beta/models/{target}")
    @app.post("/v1/models/{target}")  # google-genai 3.x calls the v1 API unless told otherwise
    async def google_generate(target: str, request: Request) -> JSONResponse:
        # The path is "<model>:generateContent"; Starlette keeps the colon inside the parameter.
        model, _, verb = target.partition(":")
        if verb == "batchGenerateContent":
            return await create_gemini_batch(fake, model, request)
        return await handle("google", model, request)

    return app


def start_fake_llm(vendor: str, script: Iterable[Step] = (), *, retry_after: int = 7) -> FakeLLM:
    """Serve a fake `vendor` on 127.0.0.1 at an ephemeral port, in a background thread. Call .stop() after."""
    if vendor not in VENDORS:
        raise ValueError(f"no fake for {vendor!r}; one of {', '.join(VENDORS)}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound before the server starts, so the port cannot be taken meanwhile
    root = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # The OpenAI SDK and LiteLLM append paths to a base that already names the API version; the others do not.
    base = root + "/v1" if vendor in ("openai", "litellm") else root
    fake = FakeLLM(vendor=vendor, root=root, base_url=base, retry_after=retry_after, script=deque(script))
    server = uvicorn.Server(uvicorn.Config(build_app(fake), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"fake-{vendor}")
    fake._server, fake._thread = server, thread
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            fake.stop()
            raise RuntimeError(f"the fake {vendor} server did not start")
        time.sleep(0.01)
    return fake
