"""A local server that answers the vendors' HTTP APIs from a sample workspace folder, in their wire formats.

Demo and tests only. Stripe is served under /stripe (point the SDK's api base there); other vendors mount their
own routers under their own prefix. Faults (429 with Retry-After, 5xx) and per-vendor rate limits are injected
here, so connectors are tested through their real SDKs against real HTTP.

    python -m sandbox.server --workspace DIR --port 8900
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

# The error body each vendor sends, so an SDK parses our faults as it would the real ones.
ERROR_BODIES = {
    "stripe": lambda status, msg: {"error": {"type": "rate_limit_error" if status == 429 else
                                             "authentication_error" if status == 401 else "api_error",
                                             "message": msg}},
    "hubspot": lambda status, msg: {"status": "error", "message": msg, "correlationId": "sandbox",
                                    "category": "RATE_LIMITS" if status == 429 else "INTERNAL_ERROR"},
    "salesforce": lambda status, msg: [{"message": msg, "errorCode": "REQUEST_LIMIT_EXCEEDED" if status == 429
                                        else "SERVER_ERROR"}],
    "slack": lambda status, msg: {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"},
}


@dataclass
class Fault:
    vendor: str
    path_prefix: str
    status: int
    times: int
    retry_after: float = 1.0


@dataclass
class SandboxState:
    workspace: Path
    data: dict[str, Any]
    rate_limits: dict[str, float]
    faults: list[Fault] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)   # vendor -> (tokens, last refill)
    posted: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, vendor: str) -> float | None:
        """Token bucket per vendor: None if the request may go, else the seconds to wait."""
        rate = self.rate_limits.get(vendor)
        if not rate:
            return None
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(vendor, (rate, now))
            tokens = min(rate, tokens + (now - last) * rate)
            if tokens >= 1:
                self.buckets[vendor] = (tokens - 1, now)
                return None
            self.buckets[vendor] = (tokens, now)
            return (1 - tokens) / rate

    def fault_for(self, vendor: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.vendor == vendor and path.startswith(f.path_prefix) and f.times > 0:
                    f.times -= 1
                    return f
        return None


def load_workspace(folder: Path) -> dict[str, Any]:
    def read(rel: str, default: Any) -> Any:
        p = folder / rel
        return json.loads(p.read_text()) if p.exists() else default

    data: dict[str, Any] = {"manifest": read("manifest.json", {}), "stripe": {}}
    for name in ("customers", "subscriptions", "invoices"):
        objs = read(f"stripe/{name}.json", [])
        data["stripe"][name] = sorted(objs, key=lambda o: (-int(o.get("created") or 0), o["id"]))
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for inv in data["stripe"]["invoices"]:
        by_customer[inv.get("customer", "")].append(inv)
    data["stripe"]["invoices_by_customer"] = by_customer
    return data


def error(vendor: str, status: int, message: str, retry_after: float | None = None) -> JSONResponse:
    headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else None
    return JSONResponse(ERROR_BODIES[vendor](status, message), status_code=status if vendor != "slack" or status == 429
                        else 200, headers=headers)


def stripe_router(state: SandboxState) -> APIRouter:
    r = APIRouter(prefix="/stripe")
    s = state.data["stripe"]
    key = state.data["manifest"].get("keys", {}).get("stripe")

    def authorized(request: Request) -> JSONResponse | None:
        if request.headers.get("authorization", "") != f"Bearer {key}":
            return JSONResponse({"error": {"type": "invalid_request_error", "code": "api_key_invalid",
                                           "message": "Invalid API Key provided."}}, status_code=401)
        return None

    def page(objs: list[dict[str, Any]], request: Request, url: str) -> JSONResponse:
        q = request.query_params
        try:
            limit = int(q.get("limit", 10))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return JSONResponse({"error": {"type": "invalid_request_error", "param": "limit",
                                           "message": "Invalid integer: limit must be between 1 and 100"}}, 400)
        start = 0
        if after := q.get("starting_after"):
            ids = [o["id"] for o in objs]
            if after not in ids:
                return JSONResponse({"error": {"type": "invalid_request_error", "code": "resource_missing",
                                               "param": "starting_after", "message": f"No such object: '{after}'"}},
                                    404)
            start = ids.index(after) + 1
        chunk = objs[start:start + limit]
        return JSONResponse({"object": "list", "url": url, "has_more": start + limit < len(objs), "data": chunk})

    def created_filter(objs: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
        q = request.query_params
        for op, test in (("gte", lambda a, b: a >= b), ("gt", lambda a, b: a > b), ("lte", lambda a, b: a <= b),
                         ("lt", lambda a, b: a < b)):
            if (v := q.get(f"created[{op}]")) is not None:
                objs = [o for o in objs if test(int(o.get("created") or 0), int(v))]
        return objs

    @r.get("/v1/customers")
    async def customers(request: Request) -> JSONResponse:
        return authorized(request) or page(s["customers"], request, "/v1/customers")

    @r.get("/v1/customers/{cid}")
    async def customer(cid: str, request: Request) -> JSONResponse:
        if denied := authorized(request):
            return denied
        found = next((c for c in s["customers"] if c["id"] == cid), None)
        if found is None:
            return JSONResponse({"error": {"type": "invalid_request_error", "code": "resource_missing",
                                           "param": "id", "message": f"No such customer: '{cid}'"}}, 404)
        return JSONResponse(found)

    @r.get("/v1/subscriptions")
    async def subscriptions(request: Request) -> JSONResponse:
        if denied := authorized(request):
            return denied
        q = request.query_params
        objs = s["subscriptions"]
        if cid := q.get("customer"):
            objs = [o for o in objs if o["customer"] == cid]
        status = q.get("status")
        if status != "all":
            objs = [o for o in objs if (o["status"] == status if status else o["status"] != "canceled")]
        return page(created_filter(objs, request), request, "/v1/subscriptions")

    @r.get("/v1/invoices")
    async def invoices(request: Request) -> JSONResponse:
        if denied := authorized(request):
            return denied
        q = request.query_params
        objs = s["invoices_by_customer"].get(q["customer"], []) if q.get("customer") else s["invoices"]
        for fld in ("subscription", "status"):
            if v := q.get(fld):
                objs = [o for o in objs if o.get(fld) == v]
        return page(created_filter(objs, request), request, "/v1/invoices")

    return r


# Other vendors add (prefix, vendor, router factory) here; each router reads `state.data` it loads itself.
ROUTERS = [("/stripe", "stripe", stripe_router)]


def create_app(state: SandboxState) -> FastAPI:
    app = FastAPI(title="Renewal Manager vendor sandbox", docs_url=None, redoc_url=None)
    vendors = [(prefix, vendor) for prefix, vendor, _ in ROUTERS]

    @app.middleware("http")
    async def faults_and_limits(request: Request, call_next: Any) -> Any:
        path = request.url.path
        match = next(((p, v) for p, v in vendors if path.startswith(p + "/")), None)
        if match is None:
            return await call_next(request)
        prefix, vendor = match
        sub = path[len(prefix):]
        state.requests[f"{vendor} {request.method} {sub}"] += 1
        if (f := state.fault_for(vendor, sub)) is not None:
            return error(vendor, f.status, f"sandbox fault {f.status}", f.retry_after if f.status == 429 else None)
        if (wait := state.take(vendor)) is not None:
            return error(vendor, 429, "rate limited by the sandbox", wait)
        return await call_next(request)

    @app.post("/_sandbox/faults")
    async def add_fault(body: dict[str, Any]) -> dict[str, str]:
        state.faults.append(Fault(body["vendor"], body.get("path_prefix", "/"), int(body["status"]),
                                  int(body.get("times", 1)), float(body.get("retry_after", 1))))
        return {"ok": "fault added"}

    @app.get("/_sandbox/requests")
    async def requests() -> dict[str, int]:
        return dict(state.requests)

    @app.post("/_sandbox/reset")
    async def reset() -> dict[str, str]:
        state.faults.clear()
        state.requests.clear()
        return {"ok": "reset"}

    for _, _, factory in ROUTERS:
        app.include_router(factory(state))
    return app


class SandboxHandle:
    def __init__(self, state: SandboxState, server: uvicorn.Server, thread: threading.Thread, port: int) -> None:
        self.state, self._server, self._thread = state, server, thread
        self.base_url = f"http://127.0.0.1:{port}"
        self.stripe_api_base = self.base_url + "/stripe"

    def add_fault(self, vendor: str, path_prefix: str, status: int, times: int = 1, retry_after: float = 1.0) -> None:
        self.state.faults.append(Fault(vendor, path_prefix, status, times, retry_after))

    def request_counts(self) -> dict[str, int]:
        return dict(self.state.requests)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_sandbox(workspace: Path, *, rate_limits: dict[str, float] | None = None, port: int = 0) -> SandboxHandle:
    """Serve `workspace` on 127.0.0.1 in a background thread; returns once the port answers."""
    state = SandboxState(workspace=workspace, data=load_workspace(workspace), rate_limits=rate_limits or {})
    if port == 0:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
    thread = threading.Thread(target=server.run, name="vendor-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the vendor sandbox did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    return SandboxHandle(state, server, thread, port)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workspace", type=Path, required=True)
    p.add_argument("--port", type=int, default=8900)
    a = p.parse_args()
    h = start_sandbox(a.workspace, port=a.port)
    print(f"sandbox on {h.base_url} (Stripe api base {h.stripe_api_base}); Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        h.stop()
