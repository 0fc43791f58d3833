"""Request ids (api/request_ids.py): on every response, quoted by a 500, in the access log line."""

from __future__ import annotations

import logging

import httpx
import pytest

from api.app import create_app


@pytest.fixture
def app_client() -> httpx.AsyncClient:
    app = create_app()  # no database, no Temporal: these routes need neither

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://api")


async def test_each_response_carries_the_callers_request_id_or_a_new_one(app_client: httpx.AsyncClient) -> None:
    async with app_client as h:
        given = await h.get("/v1/health", headers={"X-Request-Id": "abc123"})
        made = [await h.get("/v1/health") for _ in range(2)]
        missing = await h.get("/v1/nowhere", headers={"X-Request-Id": "nf1"})
    assert given.headers["x-request-id"] == "abc123"
    assert len({r.headers["x-request-id"] for r in made}) == 2 and all(
        len(r.headers["x-request-id"]) == 32 for r in made
    )
    assert (missing.status_code, missing.headers["x-request-id"], missing.json()["request_id"]) == (404, "nf1", "nf1")


async def test_an_unhandled_error_is_a_500_that_quotes_the_request_id_and_is_logged(
    app_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="renewals.api"):
        async with app_client as h:
            r = await h.get("/boom", headers={"X-Request-Id": "r500"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "r500"
    assert r.json()["request_id"] == "r500" and "quote request id r500" in r.json()["detail"]
    lines = [rec.getMessage() for rec in caplog.records]
    assert "request GET /boom failed (request id r500)" in lines and "GET /boom -> 500 (request id r500)" in lines
