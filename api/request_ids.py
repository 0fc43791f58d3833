"""Every request gets an id (the caller's `X-Request-Id`, or a new one): on the response, in the access log line,
and in any problem details, so a person can quote it. An exception no handler answered becomes a 500 that quotes it.

A pure ASGI layer. It was `@app.middleware("http")` (Starlette's BaseHTTPMiddleware), which wraps each request in a
task group and a memory stream and re-wraps the response as a stream: work on every request that py-spy showed
under load (issue 17)."""

from __future__ import annotations

import logging
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem

log = logging.getLogger("renewals.api")


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid  # what `request.state.request_id` reads
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            request = Request(scope)
            log.exception("request %s %s failed (request id %s)", scope["method"], scope["path"], rid)
            if status:  # the response had begun: nothing sensible can follow it
                raise
            await problem(500, "internal", "Internal error", f"quote request id {rid}", request)(
                scope, receive, send_with_id
            )
        log.info("%s %s -> %s (request id %s)", scope["method"], scope["path"], status, rid)
