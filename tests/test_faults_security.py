"""Issue 13 items 6-7 (PostgreSQL stopped, hung) against a real PostgreSQL of the test's own and the real API."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.faults_security import ANSWER_WITHIN, oversized_bodies, postgres_hung, postgres_stopped, security_rows


@pytest.fixture
def pg_dir() -> Iterator[Path]:
    """Outside /tmp/pytest-of-<user>: each pytest session (other checkouts' included) resets that tree to mode 0700,
    which locks out the embedded server's own system user mid-test."""
    path = Path(tempfile.mkdtemp(prefix="renewals-faults-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_postgres_stopped_answers_503_and_recovers(pg_dir: Path, client: Client) -> None:
    row = await postgres_stopped(pg_dir, client)
    routes = row.data["routes"]
    # Every route sits behind a token, whose lookup is the first thing to meet the stopped server: 503. Only a body
    # that fails validation (sent as {}) is answered 422 before that. Never a 500.
    assert set(routes) <= {"503", "422"} and routes.get("503", 0) >= 15, row
    assert row.data["health"] == 200, row
    assert row.data["ready"] == 503 and row.data["checks"]["postgres"].startswith("down"), row
    assert row.data["checks"]["temporal"] == "ok", row
    assert row.data["recovered"], row


async def test_postgres_hung_answers_503_within_bound_and_recovers(pg_dir: Path, client: Client) -> None:
    row = await postgres_hung(pg_dir, client)
    assert len(row.data["timings"]) == 3, row
    assert all(status == 503 and took < ANSWER_WITHIN for status, took in row.data["timings"]), row
    assert row.data["ready"] == 503 and row.data["checks"]["postgres"].startswith("down"), row
    assert row.data["recovered"], row


async def test_oversized_bodies_are_refused_before_they_are_read(api_url: str) -> None:
    row = await oversized_bodies(api_url)
    assert row.data["declared_status"] == 413, row
    assert row.data["streamed_status"] == 413 and row.data["problem"], row
    # The default cap is 1 MB: the answer came while the client was still sending, long before 200 MB (what was
    # sent by then includes what loopback socket buffers took in, a few MB).
    assert row.data["streamed_sent"] < 20 * 2**20, row


async def test_the_security_rows_the_chaos_table_reuses_lose_nothing(pg_dir: Path, client: Client) -> None:
    rows = await security_rows(pg_dir, client)
    assert len(rows) == 4 and all(r.lost == 0 for r in rows), rows
