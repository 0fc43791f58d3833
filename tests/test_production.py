"""The production checklist (issue 14, item 6), as an operator meets it: `renewals` processes started with
RENEWALS_ENVIRONMENT=production against the test session's real PostgreSQL and dev server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from temporalio.client import Client

from schemas.settings import Settings
from tests.conftest import APP_PASSWORD
from workers.worker import only_groups

ROOT = Path(__file__).resolve().parents[1]
NEWEST = "0030_app_reads_schema_version"


@pytest.fixture
def prod_env(client: Client, secret_key: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RENEWALS_DATABASE_URL")}
    return env | {
        "RENEWALS_ENVIRONMENT": "production",
        "RENEWALS_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "RENEWALS_APP_DB_PASSWORD": APP_PASSWORD,
        "RENEWALS_SECRET_KEY": secret_key,
        "RENEWALS_METRICS_TOKEN": "scrape-secret",
        "RENEWALS_DATA_DIR": str(tmp_path),  # an embedded PostgreSQL would start here; none may
    }


def renewals(env: dict[str, str], *args: str, until: bytes | None = None) -> tuple[int | None, str]:
    """Run `renewals <args>`: to its end, or (with `until`) until it prints that line, then stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    if until is None:
        try:
            out, _ = proc.communicate(timeout=120)
        finally:
            proc.kill()  # a process that did not refuse as it should is not left running
            proc.communicate()
        return proc.returncode, out.decode()
    seen = b""
    for line in proc.stdout:  # ends when the process exits: a refusal is not waited on
        seen += line
        if until in line:
            break
    proc.terminate()
    rest, _ = proc.communicate(timeout=60)
    return (None if until in seen else proc.returncode), (seen + rest).decode()


def with_credentials(dsn: str, user: str, password: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.netloc.rsplit('@', 1)[-1]}"))


@pytest.mark.parametrize("command", ["worker", "api", "migrate"])
def test_production_refuses_to_start_without_database_url(prod_env: dict[str, str], command: str) -> None:
    code, out = renewals(prod_env, command)
    assert code == 1 and "needs DATABASE_URL" in out and "no embedded PostgreSQL" in out, out
    assert not (Path(prod_env["RENEWALS_DATA_DIR"]) / "pg").exists()


async def test_production_workers_never_migrate_and_connect_only_as_the_app_role(
    prod_env: dict[str, str], owner: asyncpg.Connection, owner_dsn: str
) -> None:
    # The owner's credentials are not needed, nor used: a DATABASE_URL naming a user that does not exist works,
    # because only its host and database are taken, as renewals_app.
    env = prod_env | {"DATABASE_URL": with_credentials(owner_dsn, "nobody", "wrong")}
    await owner.execute("delete from schema_migrations where version = $1", NEWEST)  # code newer than the schema
    try:
        code, out = renewals(env, "worker", "--no-schedules", "--queues", "email")
        assert code == 1 and NEWEST in out and "run `renewals migrate`" in out, out
        assert not await owner.fetchval("select 1 from schema_migrations where version = $1", NEWEST)
        code, out = renewals(env, "migrate")  # the owner's job, with the owner's credentials: refused without them
        assert code == 1, out
    finally:
        code, out = renewals(prod_env | {"DATABASE_URL": owner_dsn}, "migrate")
    assert code == 0 and NEWEST in out, out
    code, out = renewals(env, "worker", "--no-schedules", "--queues", "email", until=b"worker (email) running")
    assert code is None, out
    # (A wrong app password is not tried: the embedded test server trusts local connections.)


def test_a_worker_process_polls_only_its_queue_groups() -> None:
    class FakeWorker:  # only the task queue matters to the selection; a real Worker needs a live client
        def __init__(self, task_queue: str) -> None:
            self.task_queue = task_queue

    every = [FakeWorker(q) for q in ("renewals", "connector-stripe", "connector-slack", "email")]
    chosen = only_groups(every, Settings(worker_queues="stripe, email").worker_queues)  # type: ignore[arg-type]
    assert [w.task_queue for w in chosen] == ["connector-stripe", "email"]
    assert only_groups(every, []) == every  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown queue group"):
        Settings(worker_queues="main,stripes")
