"""Issue 13 security items: body caps per route, /metrics behind a token or a local port, the on-call webhook's
host rules, bounded dates, and the usage connector that must not reach the product's own database."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from core.clock import check_day
from db.pool import Database
from schemas.settings import Settings
from tests import factories
from tests.conftest import APP_PASSWORD, create_tenant
from tests.faults_security import serve

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def usage_rows(n: int) -> list[dict[str, object]]:
    day = dt.datetime.now(dt.UTC).date()
    return [
        {
            "customer_id": f"cus_{i % 500:05d}",
            "date": (day - dt.timedelta(days=i // 500)).isoformat(),
            "active_users": 120,
            "logins": 340,
            "messages_sent": 5000,
            "agents_run": 80,
            "jobs_executed": 1200,
            "error_count": 3,
            "p95_latency_ms": 412.5,
            "licensed_seats": 150,
        }
        for i in range(n)
    ]


# ---- item 2: body caps ------------------------------------------------------------------------------------------


async def test_usage_push_has_room_for_its_documented_10000_rows_and_other_routes_do_not(
    owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    admin = {"Authorization": f"Bearer {await factories.token(db, tid, 'admin')}"}
    body = {"rows": usage_rows(10_000)}
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        size = len(httpx.Request("POST", "/", json=body).content)
        assert size > 2**20  # past the default cap, so the usage route's own cap is what lets it in
        r = await http.post("/v1/usage", json=body, headers=admin)
        assert r.status_code == 200 and r.json()["accepted"] == 10_000, r.text
        refused = await http.post("/v1/tokens", json=body, headers=admin)
        assert refused.status_code == 413 and refused.headers["content-type"] == "application/problem+json"
        assert "at most 1048576 bytes" in refused.json()["detail"]


# ---- item 3: /metrics -------------------------------------------------------------------------------------------


def test_production_refuses_to_start_with_metrics_open(secret_key: str) -> None:
    prod = {"environment": "production", "secret_key": secret_key, "app_db_password": "pw"}
    with pytest.raises(ValueError, match="RENEWALS_METRICS_TOKEN"):
        Settings(**prod)
    with pytest.raises(ValueError, match="RENEWALS_METRICS_TOKEN"):
        Settings(**prod, metrics_bind="0.0.0.0:9100")  # a separate port, but not a local one
    assert Settings(**prod, metrics_token="scrape-secret").metrics_token == "scrape-secret"
    assert Settings(**prod, metrics_bind="127.0.0.1:9100").metrics_bind == "127.0.0.1:9100"
    assert Settings(**prod, metrics_bind="[::1]:9100").metrics_bind == "[::1]:9100"
    with pytest.raises(ValueError, match="not host:port"):
        Settings(metrics_bind="9100")


@pytest.fixture
def api_process_env(owner_dsn: str, client: Client, secret_key: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield os.environ | {
        "RENEWALS_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "DATABASE_URL": owner_dsn,
        "RENEWALS_APP_DB_PASSWORD": APP_PASSWORD,
        "RENEWALS_SECRET_KEY": secret_key,
        "RENEWALS_DATA_DIR": str(tmp_path),
        "RENEWALS_API_PORT": str(free_port()),
    }


def renewals(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "workers.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def answers(url: str, headers: dict[str, str] | None = None, deadline: float = 30.0) -> httpx.Response:
    end = asyncio.get_running_loop().time() + deadline
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            try:
                return await http.get(url, headers=headers)
            except httpx.TransportError:
                if asyncio.get_running_loop().time() > end:
                    raise
                await asyncio.sleep(0.2)


async def test_renewals_api_serves_metrics_behind_its_token_or_only_on_the_local_port(
    api_process_env: dict[str, str],
) -> None:
    env = api_process_env | {"RENEWALS_ENVIRONMENT": "production"}
    refused = renewals(env, "api")
    out, _ = refused.communicate(timeout=60)
    assert refused.returncode == 2 and b"RENEWALS_METRICS_TOKEN" in out, out

    api = f"http://127.0.0.1:{env['RENEWALS_API_PORT']}"
    proc = renewals(env | {"RENEWALS_METRICS_TOKEN": "scrape-secret"}, "api")
    try:
        assert (await answers(f"{api}/metrics")).status_code == 401
        ok = await answers(f"{api}/metrics", {"Authorization": "Bearer scrape-secret"})
        assert ok.status_code == 200 and "renewals_drafts_waiting" in ok.text
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # waits, and closes its pipes

    bind = f"127.0.0.1:{free_port()}"
    proc = renewals(env | {"RENEWALS_METRICS_BIND": bind}, "api")
    try:
        assert (await answers(f"http://{bind}/metrics")).status_code == 200
        assert (await answers(f"{api}/metrics")).status_code == 404  # not on the API's own port
        assert (await answers(f"{api}/v1/health")).status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # waits, and closes its pipes


# ---- item 4: the on-call webhook --------------------------------------------------------------------------------


async def test_outside_development_the_oncall_webhook_follows_the_api_base_rules(
    owner: asyncpg.Connection, db: Database, client: Client, secret_key: str
) -> None:
    hosts = Settings(
        environment="production",
        secret_key=secret_key,
        app_db_password="pw",
        metrics_token="m",
        connector_hosts=["alerts.example.net"],
    ).api_base_hosts()
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    admin = {"Authorization": f"Bearer {await factories.token(db, tid, 'admin')}"}
    server, task, url = await serve(create_app(db, client, secret_key=secret_key, api_base_hosts=hosts))
    try:
        async with httpx.AsyncClient(base_url=url, headers=admin, timeout=10) as http:
            current = (await http.get("/v1/settings")).json()
            for bad in (
                "http://hooks.slack.com/services/x",  # not https
                "https://169.254.169.254/latest/meta-data",  # the cloud metadata service
                "https://127.0.0.1:8000/v1/drafts",
                "https://10.0.0.5/hook",
                "https://hooks.slack.com.evil.example/x",
                "https://x@hooks.slack.com/x",
                "https://127.0.0.1:8080\\@hooks.slack.com",
            ):
                r = await http.put("/v1/settings", json=current | {"oncall_webhook": bad})
                assert r.status_code == 422 and "oncall_webhook must be https" in r.json()["detail"], (bad, r.text)
            assert (await http.get("/v1/settings")).json()["oncall_webhook"] == current["oncall_webhook"]
            for good in ("https://hooks.slack.com/services/T0/B0/x", "https://alerts.example.net/renewals"):
                r = await http.put("/v1/settings", json=current | {"oncall_webhook": good})
                assert r.status_code == 200 and r.json()["oncall_webhook"] == good, r.text
    finally:
        server.should_exit = True
        await task


# ---- item 5: dates ----------------------------------------------------------------------------------------------


def test_the_date_window_is_today_minus_400_to_today_plus_1() -> None:
    today = dt.date(2026, 12, 3)
    assert check_day(today - dt.timedelta(days=400), today) and check_day(today + dt.timedelta(days=1), today)
    for day in (today - dt.timedelta(days=401), today + dt.timedelta(days=2), dt.date(1970, 1, 1)):
        with pytest.raises(ValueError, match=r"outside the accepted window 2025-10-29 \.\. 2026-12-04"):
            check_day(day, today)


async def test_dates_outside_the_window_are_refused_with_the_window_stated(
    owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str, client: Client
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    admin = {"Authorization": f"Bearer {await factories.token(db, tid, 'admin')}"}
    async with httpx.AsyncClient(base_url=api_url, headers=admin, timeout=10) as http:
        for method, path, params in (
            ("POST", "/v1/scans", {"run_date": "0"}),  # read as 1970-01-01 before
            ("POST", "/v1/scans", {"run_date": "1602-01-01"}),
            ("POST", "/v1/scans", {"run_date": "6850-01-01"}),
            ("GET", "/v1/scans/1970-01-01", {}),
            ("POST", "/v1/reports/digest/run", {"day": "6850-01-01"}),
            ("POST", "/v1/reports/briefing/run", {"day": "0"}),
            ("GET", "/v1/reports/briefing/1602-01-01", {}),
            ("GET", "/v1/audit", {"since": "0"}),
        ):
            r = await http.request(method, path, params=params)
            assert r.status_code == 422 and "outside the accepted window" in r.text, (path, params, r.text)
    for wid in (f"tenant-scan/{tid}/1970-01-01", f"tenant-scan/{tid}/6850-01-01", f"digest/{tid}/6850-01-01/by-hand"):
        assert not [w async for w in client.list_workflows(f"WorkflowId = '{wid}'")], wid
    cli = renewals(os.environ.copy(), "scan", "--tenant", tid, "--date", "1602-01-01")
    out, _ = cli.communicate(timeout=60)
    assert cli.returncode == 2 and b"outside the accepted window" in out, out
