"""One error base class carrying an HTTP status, rendered as RFC 9457 problem details by one handler."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import JSONResponse

log = logging.getLogger("renewals.api")


class ApiError(Exception):
    status = 500
    type = "internal"
    title = "Internal error"
    headers: dict[str, str] = {}

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(ApiError):
    status, type, title = 400, "bad-request", "The request could not be read"


class Unauthorized(ApiError):
    status, type, title = 401, "unauthorized", "Missing, malformed, expired or revoked token"
    headers = {"WWW-Authenticate": 'Bearer realm="renewals"'}


class Forbidden(ApiError):
    status, type, title = 403, "forbidden", "This token's role may not do that"


class NotFound(ApiError):
    status, type, title = 404, "not-found", "No such resource for this tenant"


class Conflict(ApiError):
    status, type, title = 409, "conflict", "The resource is not in a state that allows this"


class Unprocessable(ApiError):
    status, type, title = 422, "validation-failed", "The request failed validation"


RETRY_AFTER = "5"  # seconds: what a 503 asks clients to wait; the pool's timeouts are of that order


class Unavailable(ApiError):
    status, type, title = 503, "unavailable", "A backing service is unavailable"
    headers = {"Retry-After": RETRY_AFTER}


def problem(status: int, type_: str, title: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://renewal-manager.dev/problems/{type_}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        "request_id": getattr(request.state, "request_id", None),
    } | extra
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


async def handle_api_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ApiError):  # registered for ApiError only; never reached
        raise exc
    response = problem(exc.status, exc.type, exc.title, exc.detail, request, **exc.extra)
    response.headers.update(exc.headers)
    return response


# What a stopped or hung PostgreSQL raises: refused or dropped connections, the pool's acquire and command timeouts,
# a server shutting down or starting. Answered as 503 with Retry-After, never as a 500.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
)


async def handle_database_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("%s %s: the database is unavailable: %r", request.method, request.url.path, exc)
    response = problem(
        503, Unavailable.type, Unavailable.title, "the database is not answering; retry shortly", request
    )
    response.headers["Retry-After"] = RETRY_AFTER
    return response


PROBLEM_SCHEMA = {
    "content": {
        "application/problem+json": {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "request_id": {"type": "string"},
                },
            }
        }
    }
}


def responses(*errors: type[ApiError]) -> dict[int | str, dict[str, Any]]:
    """Declared on every route: the errors it names, plus the unreadable body (400) and failed validation (422)
    any route can answer — all as problem details, so the OpenAPI document says what really comes back."""
    named: tuple[type[ApiError], ...] = (BadRequest, Unprocessable, *errors)
    return {e.status: {"description": e.title, **PROBLEM_SCHEMA} for e in named}
