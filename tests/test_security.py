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

from db.pool import Database
from schemas.settings import Settings
from tests import factories
from tests.conftest import APP_PASSWORD, create_tenant

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
        proc.wait(30)

    bind = f"127.0.0.1:{free_port()}"
    proc = renewals(env | {"RENEWALS_METRICS_BIND": bind}, "api")
    try:
        assert (await answers(f"http://{bind}/metrics")).status_code == 200
        assert (await answers(f"{api}/metrics")).status_code == 404  # not on the API's own port
        assert (await answers(f"{api}/v1/health")).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
