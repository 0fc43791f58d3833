"""The benchmarks' stack: a generated workspace, an embedded Postgres, the dev server, the Stripe sandbox, an SMTP
sink, and one tenant connected to it all. Everything is torn down on exit."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.secrets import encrypt, new_key
from db import tenants
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from schemas import search
from schemas.settings import Settings
from workers.stack import SmtpSink, start_embedded_postgres, temporal_binary

AS_OF = dt.date(2026, 11, 22)


@dataclass
class Stack:
    db: Database
    client: Client
    settings: Settings
    key: str
    tenant: str
    smtp: SmtpSink


@asynccontextmanager
async def bench_stack(customers: int, chunk_size: int = 200) -> AsyncIterator[Stack]:
    from sandbox.generate import generate_workspace
    from sandbox.server import start_sandbox

    work = Path(tempfile.mkdtemp(prefix="renewals-bench-"))
    t0 = time.perf_counter()
    print(f"generating a workspace of {customers} customers…", flush=True)
    workspace = generate_workspace(work / "ws", customers=customers, as_of=AS_OF, seed=3)
    print(f"  {time.perf_counter() - t0:.1f}s; starting Postgres, the dev server and the sandbox…", flush=True)
    owner = await ensure_database(start_embedded_postgres(work / "pg"), "bench")
    await migrate(owner, "bench")
    db = await Database.connect(app_dsn(owner, "bench"), max_size=20)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=list(search.ALL),
        data_converter=pydantic_data_converter,
    )
    sandbox = start_sandbox(workspace)
    smtp = SmtpSink().start()
    key = new_key()
    settings = Settings(
        data_dir=work,
        database_url=owner,
        app_db_password="bench",
        secret_key=key,
        chunk_size=chunk_size,
        smtp_port=smtp.port,
    )
    tid = f"bench-{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(owner)
    await tenants.create_tenant(conn, tid, "Bench")
    await conn.close()
    stripe_key = json.loads((workspace / "manifest.json").read_text())["keys"]["stripe"]
    async with db.tenant(tid) as c:
        await tenants.put_connector(c, tid, "stripe", encrypt(key, stripe_key), {"api_base": sandbox.stripe_api_base})
    try:
        yield Stack(db=db, client=env.client, settings=settings, key=key, tenant=tid, smtp=smtp)
    finally:
        sandbox.stop()
        smtp.stop()
        await db.close()
        await env.shutdown()
