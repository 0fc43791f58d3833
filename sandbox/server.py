"""A local server answering the vendors' HTTP APIs from a workspace folder, in their wire formats and errors.

Demo and tests only: the real connectors talk to it through the official SDKs. Stripe lives under /stripe,
HubSpot under /hubspot, Slack under /slack/api/ and Salesforce at /services/data/ on a second, TLS listener
(simple-salesforce always speaks https). Faults and per-vendor rate limits are injected here, so retries and
error classification are tested against real HTTP. Query logic is in sandbox/workspace.py.

    python -m sandbox.server --workspace DIR --port 8900 [--tls-port 8943] [--rate-limit stripe=25]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import math
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import requests
import trustme
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox import workspace as wsq
from sandbox.workspace import SoqlError, Workspace, load_workspace

SALESFORCE_BATCH = 2000  # Salesforce's default query batch; `Sforce-Query-Options: batchSize=N` lowers it
_SF_PREFIX = re.compile(r"^/services/data/v\d+\.\d+")
_STRIPE_ERR = {
    401: ("invalid_request_error", None),
    404: ("invalid_request_error", "resource_missing"),
    429: ("invalid_request_error", "rate_limit"),
}
_HUBSPOT_CATEGORY = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    429: "RATE_LIMITS",
}
_SALESFORCE_CODE = {
    400: "MALFORMED_QUERY",
    401: "INVALID_SESSION_ID",
    403: "REQUEST_LIMIT_EXCEEDED",
    404: "NOT_FOUND",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "SERVER_UNAVAILABLE",
}


def vendor_error(
    vendor: str, status: int, message: str, *, code: str | None = None, retry_after: float | None = None
) -> JSONResponse:
    """An error exactly as each vendor shapes it, so the SDK raises its own exception type."""
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
    if vendor == "stripe":
        fallback = ("api_error" if status >= 500 else "invalid_request_error", None)
        kind, default = _STRIPE_ERR.get(status, fallback)
        body: Any = {
            "error": {"type": kind, "message": message, **({"code": code or default} if code or default else {})}
        }
    elif vendor == "hubspot":
        body = {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": code or _HUBSPOT_CATEGORY.get(status, "INTERNAL_ERROR"),
        }
        if status == 429:
            body |= {"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}
    elif vendor == "salesforce":
        body = [{"message": message, "errorCode": code or _SALESFORCE_CODE.get(status, "UNKNOWN_EXCEPTION")}]
    else:  # Slack: API errors are HTTP 200 with ok=false; 429s and outages keep their status
        body = {"ok": False, "error": code or ("ratelimited" if status == 429 else "fatal_error")}
        status = status if status == 429 or status >= 500 else 200
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class Fault:
    vendor: str
    path_prefix: str  # vendor-relative: "/v1/invoices", "/crm/v3/objects/deals", "/query", "/chat.post…"
    status: int
    times: int | None  # None: every request until reset (a vendor that is down)
    retry_after: float | None = None


# The span each vendor's limit is counted over: Slack's tiers are per minute (Tier 3 about 50 a minute, so a burst
# of a few in one second is within it), the others' per second (HubSpot's 100 per 10 s is held to 10 in each second,
# which is stricter).
WINDOW_SECONDS = {"slack": 60}


@dataclass
class RpsWindow:
    """Requests a vendor received, counted in windows of `seconds` aligned to the clock (as the vendor's limit
    counts them: each clock second, or each clock minute for Slack): the busiest window so far, as requests per
    second, and the total. Every request arriving counts, a refused one too: it is what the clients sent that must
    stay under the vendor's limit."""

    seconds: int = 1
    window: int = -1
    in_window: int = 0
    most: int = 0
    requests: int = 0

    def seen(self, now: float) -> None:
        window = int(now // self.seconds)
        if window != self.window:
            self.window, self.in_window = window, 0
        self.in_window += 1
        self.requests += 1
        self.most = max(self.most, self.in_window)

    def summary(self) -> dict[str, float | int]:
        return {
            "max_rps": round(self.most / self.seconds, 4),
            "requests": self.requests,
            "window_seconds": self.seconds,
        }


@dataclass
class SandboxState:
    ws: Workspace
    rate_limits: dict[str, float]
    faults: list[Fault] = field(default_factory=list)
    requests: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # vendor -> (tokens, last refill)
    posted: list[dict[str, Any]] = field(default_factory=list)
    cursors: OrderedDict[str, list[dict[str, Any]]] = field(default_factory=OrderedDict)
    rps: dict[str, RpsWindow] = field(default_factory=dict)  # vendor -> requests seen per window (WINDOW_SECONDS)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, vendor: str) -> float | None:
        """Token bucket per vendor (one second of burst): None if the request may go, else seconds to wait."""
        rate = self.rate_limits.get(vendor)
        if not rate:
            return None
        now = time.monotonic()
        with self.lock:
            burst = max(rate, 1.0)  # a limit under one a second still lets one request through
            tokens, last = self.buckets.get(vendor, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            ok = tokens >= 1
            self.buckets[vendor] = (tokens - 1 if ok else tokens, now)
            return None if ok else (1 - tokens) / rate

    def add_fault(
        self, vendor: str, path_prefix: str, status: int, times: int | None, retry_after: float | None
    ) -> None:
        with self.lock:
            self.faults.append(Fault(vendor, path_prefix, status, times, retry_after))

    def counts(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {v: dict(c) for v, c in self.requests.items()}

    def observed_rps(self) -> dict[str, dict[str, float | int]]:
        with self.lock:
            return {v: w.summary() for v, w in self.rps.items()}

    def reset_rps(self) -> None:
        with self.lock:
            self.rps.clear()

    def reset(self) -> None:
        with self.lock:
            for part in (self.faults, self.requests, self.posted, self.buckets, self.rps):
                part.clear()

    def fault_for(self, vendor: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.vendor == vendor and path.startswith(f.path_prefix) and (f.times is None or f.times > 0):
                    if f.times is not None:
                        f.times -= 1
                    return f
        return None


def requests_per_customer(counts: dict[str, dict[str, int]], customers: int) -> dict[str, float]:
    """Vendor requests per customer scanned, from the sandbox's counts (GET /_sandbox/requests, or
    SandboxHandle.request_counts()): how many calls a scan spends on each vendor for each account it reads."""
    return {v: round(sum(by_path.values()) / max(customers, 1), 4) for v, by_path in sorted(counts.items())}


def vendor_of(path: str) -> tuple[str, str] | None:
    """The vendor a path belongs to, and the path as the vendor knows it (faults and counts use it)."""
    for prefix, vendor in (("/stripe", "stripe"), ("/hubspot", "hubspot"), ("/slack/api", "slack")):
        if path.startswith(prefix + "/"):
            return vendor, path[len(prefix) :]
    return ("salesforce", _SF_PREFIX.sub("", path)) if path.startswith("/services/data/") else None


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if auth.lower().startswith("basic "):  # Stripe also takes the key as the basic-auth user name
        return base64.b64decode(auth[6:]).decode(errors="replace").split(":", 1)[0]
    return None


def unauthorized(vendor: str, key: str | None) -> JSONResponse:
    if vendor == "stripe":
        shown = (
            f"{key[:8]}{'*' * (len(key) - 12)}{key[-4:]}"
            if key and len(key) > 12
            else "*" * max(0, len(key or "") - 4) + (key or "")[-4:]
        )  # Stripe's masking: never the whole key
        return vendor_error(
            "stripe",
            401,
            f"Invalid API Key provided: {shown}"
            if key
            else "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    if vendor == "hubspot":
        return vendor_error(
            "hubspot", 401, "Authentication credentials not found. This API supports OAuth 2.0 authentication."
        )
    return vendor_error("salesforce", 401, "Session expired or invalid")


def _limit(raw: str | None, default: int, top: int) -> int | None:
    try:
        n = int(raw) if raw not in (None, "") else default
    except ValueError:
        return None
    return n if 1 <= n <= top else None


def stripe_router(state: SandboxState) -> APIRouter:
    r, ws = APIRouter(prefix="/stripe"), state.ws
    kinds = {"customers": "customer", "subscriptions": "subscription", "invoices": "invoice"}
    # The workspace does not change while it is served: each filter's list and its cursor index are kept, so a page
    # costs what Stripe's own indexed page does, not a pass over every object. Re-filtered per page, a 10,000-customer
    # tenant's invoice list (170 pages over 45,000 invoices) was paced by the sandbox, not by the client it measures.
    views: dict[tuple[Any, ...], tuple[list[dict[str, Any]], dict[str, int]]] = {}

    def view(kind: str, q: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
        key = (
            kind,
            *sorted((k, v) for k, v in q.multi_items() if k not in ("limit", "starting_after", "ending_before")),
        )
        if key not in views:
            pool = ws.stripe_by_customer[kind].get(q["customer"], []) if q.get("customer") else ws.stripe[kind]
            objs = wsq.stripe_filter(pool, q, kind=kind)
            if len(views) >= 256:  # bounded: per-customer lists are many and each is read once a scan
                views.pop(next(iter(views)))
            views[key] = (objs, {o["id"]: n for n, o in enumerate(objs)})
        return views[key]

    @r.get("/v1/{kind}")
    async def listing(kind: str, request: Request) -> JSONResponse:
        if kind not in kinds:
            return vendor_error("stripe", 404, f"Unrecognized request URL (GET: /v1/{kind}).")
        q = request.query_params
        if (limit := _limit(q.get("limit"), 10, 100)) is None:
            return vendor_error(
                "stripe", 400, "Invalid integer: limit must be between 1 and 100", code="parameter_invalid_integer"
            )
        objs, index = view(kind, q)
        try:
            page, more = wsq.stripe_page(objs, limit, q.get("starting_after"), q.get("ending_before"), index)
        except KeyError as e:
            return vendor_error("stripe", 404, f"No such {kinds[kind]}: '{e.args[0]}'")
        return JSONResponse({"object": "list", "url": f"/v1/{kind}", "has_more": more, "data": page})

    @r.get("/v1/{kind}/{obj_id}")
    async def retrieve(kind: str, obj_id: str) -> JSONResponse:
        obj = ws.stripe_by_id.get(obj_id)
        if kind not in kinds or obj is None or obj.get("object") != kinds[kind]:
            return vendor_error("stripe", 404, f"No such {kinds.get(kind, 'object')}: '{obj_id}'")
        return JSONResponse(obj)

    return r


def hubspot_router(state: SandboxState) -> APIRouter:
    r, ws = APIRouter(prefix="/hubspot"), state.ws

    def kind_of(obj_type: str) -> str:
        if obj_type not in wsq.HUBSPOT_TYPES:
            raise HubSpotBadType(obj_type)
        return wsq.HUBSPOT_TYPES[obj_type]

    def csv_list(request: Request, name: str) -> list[str]:  # the client sends `a,b` or repeats the name
        return [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]

    @r.get("/crm/v3/objects/{obj_type}")
    async def page(obj_type: str, request: Request) -> JSONResponse:
        kind = kind_of(obj_type)
        if (limit := _limit(request.query_params.get("limit"), 10, 100)) is None:
            return vendor_error("hubspot", 400, "limit must be between 1 and 100")
        objs, after = wsq.hubspot_page(ws.hubspot[kind], limit, request.query_params.get("after"))
        props, assoc = csv_list(request, "properties"), csv_list(request, "associations")
        body: dict[str, Any] = {"results": [wsq.hubspot_view(ws, kind, o, props, assoc) for o in objs]}
        if after:
            link = f"{request.base_url}hubspot/crm/v3/objects/{obj_type}?limit={limit}&after={after}"
            body["paging"] = {"next": {"after": after, "link": link}}
        return JSONResponse(body)

    @r.get("/crm/v3/objects/{obj_type}/{obj_id}")
    async def one(obj_type: str, obj_id: str, request: Request) -> JSONResponse:
        kind = kind_of(obj_type)
        if (obj := ws.hubspot_by_id[kind].get(obj_id)) is None:
            return vendor_error("hubspot", 404, "Object not found.  objectId are usually numeric.")
        return JSONResponse(
            wsq.hubspot_view(ws, kind, obj, csv_list(request, "properties"), csv_list(request, "associations"))
        )

    def batch(results: list[Any], missing: list[str], message: str) -> JSONResponse:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if not missing:
            return JSONResponse(body)
        body |= {
            "numErrors": len(missing),
            "errors": [
                {"status": "error", "category": "OBJECT_NOT_FOUND", "message": message, "context": {"ids": missing}}
            ],
        }
        return JSONResponse(body, status_code=207)  # HubSpot's multi-status: results and errors side by side

    @r.post("/crm/v3/objects/{obj_type}/batch/read")
    async def batch_read(obj_type: str, request: Request) -> JSONResponse:
        kind, body = kind_of(obj_type), await request.json()
        ids, known = [str(i.get("id")) for i in body.get("inputs") or []], ws.hubspot_by_id[kind]
        props = body.get("properties") or []
        return batch(
            [wsq.hubspot_view(ws, kind, known[i], props) for i in ids if i in known],
            [i for i in ids if i not in known],
            f"Could not get some {kind.upper()} objects, they may be deleted or not exist.",
        )

    @r.post("/crm/v4/associations/{from_type}/{to_type}/batch/read")
    async def associations(from_type: str, to_type: str, request: Request) -> JSONResponse:
        src, dst = kind_of(from_type), kind_of(to_type)
        links, type_id = ws.associations.get((src, dst), {}), wsq.HUBSPOT_ASSOCIATION_TYPES.get((src, dst), 0)
        ids = [str(i.get("id")) for i in (await request.json()).get("inputs") or []]
        results = [
            {
                "from": {"id": i},
                "to": [
                    {
                        "toObjectId": int(t),
                        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}],
                    }
                    for t in links[i]
                ],
            }
            for i in ids
            if links.get(i)
        ]
        return batch(results, [i for i in ids if not links.get(i)], f"No {dst} is associated with those {src}.")

    return r


class HubSpotBadType(LookupError):
    """An object type HubSpot would not know; answered with HubSpot's 400."""


def salesforce_router(state: SandboxState) -> APIRouter:
    r, ws = APIRouter(prefix="/services/data/{version}"), state.ws

    def answer(request: Request, version: str, rows: list[dict[str, Any]], locator: str, offset: int) -> JSONResponse:
        wanted = re.search(r"batchSize=(\d+)", request.headers.get("sforce-query-options", ""))
        size = max(200, min(SALESFORCE_BATCH, int(wanted.group(1)))) if wanted else SALESFORCE_BATCH
        end = offset + size
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[offset:end]}
        if end < len(rows):
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
        return JSONResponse(body)

    async def query(version: str, request: Request) -> JSONResponse:
        try:
            rows = wsq.run_soql(wsq.parse_soql(request.query_params.get("q", "")), ws.salesforce)
        except SoqlError as e:
            return vendor_error("salesforce", 400, str(e), code=e.code)
        locator = "01gSB" + uuid.uuid4().hex[:13].upper()
        with state.lock:  # Salesforce keeps query cursors a while; here the last 200 are kept
            state.cursors[locator] = rows
            while len(state.cursors) > 200:
                state.cursors.popitem(last=False)
        return answer(request, version, rows, locator, 0)

    for path in ("/query", "/query/", "/queryAll", "/queryAll/"):
        r.add_api_route(path, query, methods=["GET"])

    @r.get("/query/{cursor}")
    async def more(version: str, cursor: str, request: Request) -> JSONResponse:
        locator, _, offset = cursor.rpartition("-")
        if (rows := state.cursors.get(locator)) is None or not offset.isdigit():
            return vendor_error("salesforce", 400, "invalid query locator", code="INVALID_QUERY_LOCATOR")
        return answer(request, version, rows, locator, int(offset))

    @r.get("/sobjects/{sobject}/{record_id}")
    async def record(sobject: str, record_id: str) -> JSONResponse:
        rec = next((x for x in ws.salesforce.get(sobject, []) if x.get("Id") == record_id), None)
        return JSONResponse(rec) if rec else vendor_error("salesforce", 404, "The requested resource does not exist")

    return r


def slack_router(state: SandboxState) -> APIRouter:
    r = APIRouter(prefix="/slack/api")

    @r.api_route("/{method}", methods=["GET", "POST"])
    async def call(method: str, request: Request) -> JSONResponse:
        # Slack takes arguments as query, form or JSON, and the token as a header or an argument.
        args: dict[str, Any] = dict(request.query_params)
        if request.method == "POST" and (raw := await request.body()):
            as_json = "json" in request.headers.get("content-type", "")
            # Form bodies are parsed here, so the sandbox needs no python-multipart.
            args |= json.loads(raw) if as_json else dict(parse_qsl(raw.decode()))
        token = bearer(request) or args.pop("token", None)
        if token != state.ws.key("slack"):
            return JSONResponse({"ok": False, "error": "invalid_auth" if token else "not_authed"})
        with state.lock:
            return JSONResponse(wsq.slack_call(state.ws, state.posted, method, args, time.time()))

    return r


def create_app(state: SandboxState) -> FastAPI:
    app = FastAPI(title="Renewal Manager vendor sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Any:
        """Count, then injected faults, then the rate limit, then the key: one place for every vendor."""
        if (found := vendor_of(request.url.path)) is None:
            return await call_next(request)
        vendor, rel = found
        with state.lock:
            state.requests[vendor][f"{request.method} {rel}"] += 1
            state.rps.setdefault(vendor, RpsWindow(WINDOW_SECONDS.get(vendor, 1))).seen(time.time())
        if (f := state.fault_for(vendor, rel)) is not None:
            return vendor_error(vendor, f.status, f"sandbox fault: {f.status}", retry_after=f.retry_after)
        if (wait := state.take(vendor)) is not None:
            return vendor_error(vendor, 429, "Request rate limit exceeded (sandbox).", retry_after=wait)
        if vendor != "slack" and (key := bearer(request)) != state.ws.key(vendor):
            return unauthorized(vendor, key)
        return await call_next(request)

    @app.exception_handler(HubSpotBadType)
    async def bad_type(request: Request, e: HubSpotBadType) -> JSONResponse:
        return vendor_error("hubspot", 400, f"Unable to infer object type from: {e}")

    @app.post("/_sandbox/faults")
    async def add_fault(body: dict[str, Any]) -> dict[str, Any]:
        times = None if body.get("down") or body.get("times", 1) is None else int(body.get("times", 1))
        state.add_fault(
            body["vendor"], body.get("path_prefix", ""), int(body.get("status", 503)), times, body.get("retry_after")
        )
        return {"ok": True}

    @app.get("/_sandbox/requests")
    async def requests_seen() -> dict[str, dict[str, int]]:
        return state.counts()

    @app.get("/_sandbox/rps")
    async def rps_seen() -> dict[str, dict[str, float | int]]:
        """Per vendor: the most requests received in one of its windows (a clock second; a clock minute for Slack) as
        requests per second, the window's length, and how many in all, since the last reset."""
        return state.observed_rps()

    @app.post("/_sandbox/rps/reset")
    async def rps_reset() -> dict[str, bool]:
        state.reset_rps()
        return {"ok": True}

    @app.get("/_sandbox/posted")
    async def posted() -> list[dict[str, Any]]:
        return list(state.posted)

    @app.post("/_sandbox/reset")
    async def reset() -> dict[str, bool]:
        state.reset()
        return {"ok": True}

    for factory in (stripe_router, hubspot_router, salesforce_router, slack_router):
        app.include_router(factory(state))
    return app


class SandboxHandle:
    """A running sandbox: where each SDK should point, what was posted, and the switch to stop it."""

    def __init__(
        self,
        state: SandboxState,
        servers: list[uvicorn.Server],
        socks: list[socket.socket],
        thread: threading.Thread,
        tls_dir: Path,
    ) -> None:
        self.state, self._servers, self._socks = state, servers, socks
        self._thread, self._tls_dir = thread, tls_dir
        port, tls_port = (s.getsockname()[1] for s in socks)
        self.workspace = state.ws.root
        self.keys: dict[str, str] = dict(state.ws.manifest.get("keys") or {})
        self.base_url = f"http://127.0.0.1:{port}"
        self.stripe_api_base = self.base_url + "/stripe"
        self.hubspot_host = self.base_url + "/hubspot"
        self.slack_base_url = self.base_url + "/slack/api/"
        self.salesforce_instance_url = f"https://127.0.0.1:{tls_port}"
        self.ca_file = str(tls_dir / "ca.pem")

    def connector_config(self, kind: str) -> dict[str, str]:
        """A connector's config pointing at this sandbox: its base URL, and for Salesforce (TLS) the CA to trust."""
        return {
            "stripe": {"api_base": self.stripe_api_base},
            "hubspot": {"api_base": self.hubspot_host},
            "salesforce": {"api_base": self.salesforce_instance_url, "ca_file": self.ca_file},
            "slack": {"api_base": self.slack_base_url},
        }[kind]

    def salesforce_session(self) -> requests.Session:
        """A requests session that trusts the sandbox CA. trust_env is off because requests lets a
        REQUESTS_CA_BUNDLE in the environment override Session.verify."""
        session = requests.Session()
        session.verify, session.trust_env = self.ca_file, False
        return session

    def posted_messages(self) -> list[dict[str, Any]]:
        return list(self.state.posted)

    def add_fault(
        self,
        vendor: str,
        path_prefix: str = "",
        status: int = 503,
        times: int | None = 1,
        retry_after: float | None = None,
    ) -> None:
        """Fail the next `times` requests to that vendor path; with `times=None`, until reset() (down)."""
        self.state.add_fault(vendor, path_prefix, status, times, retry_after)

    def request_counts(self, vendor: str | None = None) -> dict[str, Any]:
        counts = self.state.counts()
        return counts.get(vendor, {}) if vendor else counts

    def observed_rps(self) -> dict[str, dict[str, float | int]]:
        """`{vendor: {"max_rps": float, "requests": int, "window_seconds": int}}`: the busiest window (WINDOW_SECONDS)
        as requests per second, and the total since the last reset (GET /_sandbox/rps answers the same)."""
        return self.state.observed_rps()

    def reset_rps(self) -> None:
        """Start measuring afresh (POST /_sandbox/rps/reset); faults, counts and limits stay."""
        self.state.reset_rps()

    def reset(self) -> None:
        """Forget faults, request counts, posted messages and rate-limit state (between test cases)."""
        self.state.reset()

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        self._thread.join(timeout=10)
        for sock in self._socks:
            sock.close()
        shutil.rmtree(self._tls_dir, ignore_errors=True)


def _listen(port: int) -> socket.socket:
    # Bound here, so port 0 gives a free port without a race. IPPROTO_TCP explicitly: asyncio sets
    # TCP_NODELAY only on sockets that say so, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def start_sandbox(
    workspace: Path, *, rate_limits: dict[str, float] | None = None, port: int = 0, tls_port: int = 0
) -> SandboxHandle:
    """Serve `workspace` on 127.0.0.1 (http, plus https for Salesforce) in a background thread; returns once
    both listeners answer. `rate_limits` maps a vendor to requests per second."""
    state = SandboxState(ws=load_workspace(Path(workspace)), rate_limits=dict(rate_limits or {}))
    tls_dir = Path(tempfile.mkdtemp(prefix="sandbox-tls-"))
    ca = trustme.CA()  # a throw-away CA: the test or demo trusts it through `ca_file`, nothing else does
    ca.cert_pem.write_to_path(str(tls_dir / "ca.pem"))
    server_pem = ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem
    server_pem.write_to_path(str(tls_dir / "server.pem"))
    app = create_app(state)
    socks = [_listen(port), _listen(tls_port)]
    servers = [
        uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", **extra))
        for extra in ({}, {"ssl_certfile": str(tls_dir / "server.pem")})
    ]

    async def serve() -> None:
        await asyncio.gather(*(s.serve(sockets=[sock]) for s, sock in zip(servers, socks, strict=True)))

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="vendor-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not all(s.started for s in servers):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the vendor sandbox did not start")
        time.sleep(0.02)
    return SandboxHandle(state, servers, socks, thread, tls_dir)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workspace", type=Path, required=True)
    p.add_argument("--port", type=int, default=8900)
    p.add_argument("--tls-port", type=int, default=8943)
    p.add_argument("--rate-limit", action="append", default=[], metavar="VENDOR=PER_SECOND")
    a = p.parse_args()
    limits = {v: float(n) for v, _, n in (x.partition("=") for x in a.rate_limit)}
    h = start_sandbox(a.workspace, rate_limits=limits, port=a.port, tls_port=a.tls_port)
    print(
        f"""vendor sandbox for {a.workspace}
  Stripe      {h.stripe_api_base}   key {h.keys.get("stripe")}
  HubSpot     {h.hubspot_host}   token {h.keys.get("hubspot")}
  Slack       {h.slack_base_url}   token {h.keys.get("slack")}
  Salesforce  {h.salesforce_instance_url}   session {h.keys.get("salesforce")}   CA {h.ca_file}
  Control     {h.base_url}/_sandbox/requests, /_sandbox/rps, /_sandbox/faults, /_sandbox/reset
Ctrl-C to stop""",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        h.stop()


if __name__ == "__main__":
    main()
