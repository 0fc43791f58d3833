"""Request bodies are capped before anything reads them: a pure ASGI layer, outermost, that refuses a declared
Content-Length over the limit at once and stops counting a streamed (chunked) body the moment it passes the limit.
Without it a 200 MB body was read and parsed before the 401 (issue 13)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_048_576  # RENEWALS_MAX_BODY_BYTES
USAGE_MAX_BODY_BYTES = 8_388_608  # RENEWALS_USAGE_MAX_BODY_BYTES: POST /v1/usage, 10,000 rows (see Settings)


class BodyLimit:
    def __init__(self, app: ASGIApp, default: int, per_route: dict[tuple[str, str], int] | None = None) -> None:
        self.app, self.default, self.per_route = app, default, per_route or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_route.get((scope["method"], scope["path"].rstrip("/")), self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, send, limit)
            return
        seen, refused = 0, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer now and tell the app the client left: nothing buffers the rest of the body.
                    refused = True
                    await _too_large(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:  # the 413 has gone out; whatever the app answers after the "disconnect" is dropped
                await send(message)

        await self.app(scope, counted, guarded)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "https://renewal-manager.dev/problems/too-large",
            "title": "Request body too large",
            "status": 413,
            "detail": f"{scope['method']} {scope['path']} accepts at most {limit} bytes of body",
            "instance": scope["path"],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
