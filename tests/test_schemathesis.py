"""schemathesis (PyPI) generates requests from the API's own OpenAPI document and sends them to the real app,
with a real admin token: no request may end in a 5xx, and responses must match what the document promises."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client

from db import tenants
from db.pool import Database
from tests import factories
from tests.conftest import create_tenant

pytestmark = pytest.mark.usefixtures("workers")


async def test_generated_requests_find_no_server_error(
    owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str, client: Client
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    for _ in range(3):  # real rows behind the lists, and waiting workflows for any decision that finds one
        await factories.waiting_draft(db, client, tid)
    async with db.tenant(tid) as conn:
        token = await tenants.create_token(conn, tid, "admin", "fuzzer")
    st = Path(sys.executable).parent / "schemathesis"
    proc = await asyncio.create_subprocess_exec(
        str(st),
        "run",
        f"{api_url}/openapi.json",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples",
        "30",
        # One worker: Hypothesis describes its filters with ast.parse, which on CPython 3.11 can raise a spurious
        # "AST constructor recursion depth mismatch" when two threads parse at once (python/cpython#106905).
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "-H",
        f"Authorization: Bearer {token}",
        # Never let it point a connector at anything but loopback: PUT /v1/connectors would try the URL.
        "--exclude-path-regex",
        "^/v1/connectors/",
        "--request-timeout",
        "20",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=240)
    report = out.decode()
    assert proc.returncode == 0, report[-4000:]
