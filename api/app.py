"""The REST API operators use: versioned under /v1, OpenAPI at /openapi.json, errors as problem details."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client

from api import (
    customers,
    decisions,
    drafts,
    inbox,
    metrics,
    overrides,
    ready,
    reports,
    scans,
    settings,
    setup,
    slack,
    usage,
)
from api import profiles as weight_profiles
from api.errors import DATABASE_DOWN, ApiError, handle_api_error, handle_database_down, problem
from api.limits import MAX_BODY_BYTES, USAGE_MAX_BODY_BYTES, BodyLimit
from api.request_ids import RequestIds
from api.webhooks import router as webhooks_router
from db.pool import Database


def create_app(
    db: Database | None = None,
    temporal: Client | None = None,
    connect: Callable[[], Awaitable[tuple[Database, Client]]] | None = None,
    secret_key: str | None = None,
    metrics_token: str | None = None,
    api_base_hosts: list[str] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    usage_max_body_bytes: int = USAGE_MAX_BODY_BYTES,
    serve_metrics: bool = True,
) -> FastAPI:
    """Pass a ready database and client (tests, the demo), or `connect` to make them at start-up.

    `secret_key` is the Fernet key connector secrets are sealed with; without it the connectors API answers 503.
    `metrics_token`, when set, is the Bearer token /metrics asks of its scraper (it names every tenant).
    `api_base_hosts`, when set, are the domains a connector's api_base may name (https only); None allows any.
    `max_body_bytes` caps every request body (413), `usage_max_body_bytes` POST /v1/usage's.
    `serve_metrics=False` leaves /metrics to `api.metrics.metrics_app` on a port of its own."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if connect is not None:
            app.state.db, app.state.temporal = await connect()
        yield
        if connect is not None:
            await app.state.db.close()

    app = FastAPI(
        title="Renewal Manager",
        version="1",
        lifespan=lifespan,
        description="Approve renewal drafts; every decision reaches its Temporal workflow.",
    )
    app.state.secret_key = secret_key
    app.state.metrics_token = metrics_token
    app.state.api_base_hosts = api_base_hosts
    app.state.db, app.state.temporal = db, temporal  # or made at start-up by `connect`
    app.add_exception_handler(ApiError, handle_api_error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {400: "bad-request", 404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(exc.status_code, kind, str(exc.detail), str(exc.detail), request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "validation-failed",
            "The request failed validation",
            "see errors",
            request,
            errors=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()],
        )

    async def unstorable(request: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL text and jsonb cannot hold a NUL character; anything else a request carries, they can.
        return problem(
            422,
            "validation-failed",
            "The request failed validation",
            "the request carries a character PostgreSQL cannot store (NUL, \\u0000)",
            request,
        )

    for down in DATABASE_DOWN:
        app.add_exception_handler(down, handle_database_down)

    for exc_type in (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError):
        app.add_exception_handler(exc_type, unstorable)

    @app.get("/v1/health", tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness only: the process answers. Whether it can serve is /v1/ready."""
        return {"status": "ok"}

    app.include_router(drafts.router)
    app.include_router(decisions.router)
    app.include_router(slack.router)
    app.include_router(webhooks_router)
    app.include_router(scans.router)
    app.include_router(reports.router)
    app.include_router(usage.router)
    app.include_router(settings.router)
    app.include_router(weight_profiles.router)
    app.include_router(customers.router)
    app.include_router(overrides.router)
    app.include_router(setup.router)
    if serve_metrics:
        app.include_router(metrics.router)
    app.include_router(inbox.router)
    app.include_router(ready.router)
    app.add_middleware(RequestIds)
    # Added last, so outermost: the cap applies before request ids, routing, body parsing and auth.
    app.add_middleware(BodyLimit, default=max_body_bytes, per_route={("POST", "/v1/usage"): usage_max_body_bytes})
    return app
