"""Prometheus /metrics for on-call: drafts waiting, approval latency, validation failures, route mix, connector
errors, model spend. Read from Postgres at scrape time, across tenants, through security-definer views only."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from api.errors import ApiError, Unauthorized, Unavailable, handle_api_error
from core.disagreement import sql_pattern
from db import metrics as metrics_db

router = APIRouter(tags=["metrics"])
AGREEMENT_DAYS = 30


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    expected = getattr(request.app.state, "metrics_token", None)
    if expected and not hmac.compare_digest(
        request.headers.get("authorization", "").encode(), f"Bearer {expected}".encode()
    ):
        raise Unauthorized("/metrics needs the scrape token: `Authorization: Bearer <metrics token>`")
    registry = CollectorRegistry()
    waiting = Gauge("renewals_drafts_waiting", "Drafts waiting for an operator", ["tenant"], registry=registry)
    latency = Gauge(
        "renewals_approval_latency_seconds_p50",
        "Median time from draft to decision, last 7 days",
        ["tenant"],
        registry=registry,
    )
    failed = Gauge(
        "renewals_validation_failure_rate_24h",
        "Share of the last 24 h's verdicts demoted for citing sources outside their evidence",
        ["tenant"],
        registry=registry,
    )
    routes = Gauge(
        "renewals_route_share", "Route mix of the latest completed scan", ["tenant", "route"], registry=registry
    )
    conn_err = Gauge("renewals_connector_errors", "Connectors in error", ["tenant", "kind"], registry=registry)
    spend = Gauge("renewals_model_spend_usd_24h", "Model spend over the last 24 h", ["tenant"], registry=registry)
    if request.app.state.db is None:
        raise Unavailable("the API has not connected to PostgreSQL yet")
    async with request.app.state.db.connection() as conn:
        rows = await metrics_db.per_tenant(conn)
        state_rows = await metrics_db.draft_states(conn)
        agreement_rows = await metrics_db.agreement(conn, sql_pattern("save"), sql_pattern("upsell"), AGREEMENT_DAYS)
    states = Gauge(
        "renewals_drafts",
        "Drafts not yet settled, by state: pending, sending, delivery_failed, delivery_uncertain (the last needs an "
        "operator's resolve)",
        ["tenant", "status"],
        registry=registry,
    )
    agreement = Gauge(
        "renewals_operator_agreement",
        f"Share of the last {AGREEMENT_DAYS} days' operator decisions (drafts sent or skipped, overrides set) that "
        "agree with the model's verdict, by route: whether the models help",
        ["tenant", "route", "source"],
        registry=registry,
    )
    for r in agreement_rows:
        if r["judged"]:
            agreement.labels(r["tenant_id"], r["route"], r["source"]).set(r["agreed"] / r["judged"])
    for r in state_rows:
        states.labels(r["tenant_id"], r["status"]).set(r["drafts"])
    for r in rows:
        t = r["tenant_id"]
        waiting.labels(t).set(r["drafts_waiting"])
        latency.labels(t).set(r["approval_p50_seconds"] or 0)
        failed.labels(t).set(r["validation_failure_rate"] or 0)
        spend.labels(t).set(r["model_spend_24h"] or 0)
        for route, share in (r["route_mix"] or {}).items():
            routes.labels(t, route).set(share)
        for kind in r["connectors_in_error"] or []:
            conn_err.labels(t, kind).set(1)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def metrics_app(main: FastAPI) -> FastAPI:
    """/metrics alone, for RENEWALS_METRICS_BIND: a local port the scraper reaches and the public does not. It
    shares the main app's state (its database, once the main app has started, and the token if one is set)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state = main.state
    app.add_exception_handler(ApiError, handle_api_error)
    app.include_router(router)
    return app
