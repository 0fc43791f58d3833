"""Scale benchmark: N worker processes and the API against one dev server, one PostgreSQL and the vendor sandbox.

    python -m bench.scale --workers 3 --customers 10000

0. With Slack connected (the default sources), Slack's day one is not waited for: at Tier 3's 50 reads a minute the
   whole lookback of thousands of channels takes hours. The state it leaves is made first, in this process and with
   Slack's limit lifted: every due channel read, its cursor and messages kept in PostgreSQL, the Events API marked as
   flowing (as bench/slack_day2.py does). The scans below are the tenant's next days.
1. Day one, with the vendors' documented limits enforced at the sandbox: every source connected, a scan started
   through the API. Measured: requests per customer per vendor, and each vendor's busiest window at the sandbox
   (a clock second; a clock minute for Slack, whose limits are per minute: `rps_window_seconds`) as requests per
   second, against its limit.
2. Day two, limits still enforced: how long the Slack reads take once the history is known.
3. A second pass with the limits lifted (sandbox and worker pacing): customers per second, against a bare fan-out
   of one no-op activity per customer on the same server.

Progress goes to stdout as it runs; the last line is one JSON object (keys in the issue 14 "done when").
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.scan import ScanActivities
from bench.fanout import BareFanout, noop
from bench.phases import cpu_in, phase_spans
from bench.phases import seconds as span_seconds
from bench.slack_day2 import read_all
from connectors import registry
from core.secrets import encrypt, new_key
from db import tenants
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from db.sources import SLACK_EVENTS, set_cursor
from schemas import ids, search
from workers.stack import SmtpSink, start_embedded_postgres, temporal_binary

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 22)
APP_PASSWORD = "bench-scale"
# The documented limits (shared/VENDOR-FACTS.md): Stripe's sandbox 25/s, HubSpot 100 per 10 s (Free/Starter), Slack
# conversations.history Tier 3 about 50 a minute. Salesforce has no per-second limit (daily API caps, concurrency);
# the sandbox holds it to 25/s so a runaway loop still shows.
LIMITS = {"stripe": 25.0, "hubspot": 10.0, "salesforce": 25.0, "slack": 50 / 60}
UNTHROTTLED = {vendor: 10_000.0 for vendor in LIMITS}


def say(msg: str) -> None:
    print(msg, flush=True)


class Processes:
    """The `renewals` processes under test: N workers and the API, each with its own data dir and log."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work, self.env = work, env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ready_marks: dict[Path, int] = {}

    def start(self, name: str, *args: str, extra: dict[str, str] | None = None) -> None:
        env = self.env | {"RENEWALS_DATA_DIR": str(self.work / name)} | (extra or {})
        with (self.work / f"{name}.log").open("ab") as log:  # the child keeps its own copy of the descriptor
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "workers.cli", *args], env=env, cwd=ROOT, stdout=log, stderr=log
                )
            )

    def workers(self, n: int, extra: dict[str, str] | None = None) -> None:
        self.ready_marks = {}
        for i in range(n):
            log = self.work / f"worker{i}.log"
            self.ready_marks[log] = log.read_bytes().count(b" running against ") if log.exists() else 0
            self.start(f"worker{i}", "worker", "--no-schedules", extra=extra)

    async def workers_ready(self) -> bool:
        """Every worker started last has said it is polling (its log has one more "running against" line)."""
        return all(log.read_bytes().count(b" running against ") > n for log, n in self.ready_marks.items())

    def worker_cpu(self) -> float:
        """CPU seconds (user and system) the running worker processes have used so far: the load-independent cost,
        where the machine is shared and wall-clock rates are noisy."""
        total = 0.0
        for p in self.procs:
            if p.args[3] == "worker":  # type: ignore[index]
                used = psutil.Process(p.pid).cpu_times()
                total += used.user + used.system
        return total

    def stop_workers(self) -> None:
        for p in self.procs:
            if p.args[3] == "worker":  # type: ignore[index]
                p.terminate()
        for p in self.procs:
            if p.args[3] == "worker":  # type: ignore[index]
                p.wait(timeout=90)
        self.procs = [p for p in self.procs if p.args[3] != "worker"]  # type: ignore[index]

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=90)
            except subprocess.TimeoutExpired:
                p.kill()


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


@asynccontextmanager
async def services(work: Path, customers: int) -> AsyncIterator[dict[str, Any]]:
    from sandbox.generate import generate_workspace
    from sandbox.server import start_sandbox

    t0 = time.perf_counter()
    say(f"generating a workspace of {customers} customers…")
    workspace = generate_workspace(work / "ws", customers=customers, as_of=AS_OF, seed=3)
    say(f"  {time.perf_counter() - t0:.1f}s; starting PostgreSQL, the dev server, the sandbox and an SMTP sink…")
    owner = await ensure_database(start_embedded_postgres(work / "pg"), "scale")
    await migrate(owner, APP_PASSWORD)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=list(search.ALL),
        data_converter=pydantic_data_converter,
    )
    sandbox = start_sandbox(workspace, rate_limits=dict(LIMITS))
    smtp = SmtpSink().start()
    db = await Database.connect(app_dsn(owner, APP_PASSWORD), max_size=5)
    try:
        yield {"owner": owner, "client": env.client, "sandbox": sandbox, "smtp": smtp, "db": db}
    finally:
        await db.close()
        sandbox.stop()
        smtp.stop()
        await env.shutdown()


async def connect_tenant(owner: str, db: Database, key: str, sandbox: Any, sources: list[str]) -> tuple[str, str]:
    tid = f"scale-{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(owner)
    await tenants.create_tenant(conn, tid, "Scale")
    await conn.close()
    configs = {kind: sandbox.connector_config(kind) for kind in ("stripe", "hubspot", "salesforce", "slack")}
    if "slack" in sources:  # the team id, as connecting stores it (the Events API is matched on it)
        configs["slack"] |= await registry.check("slack", sandbox.keys["slack"], configs["slack"])
    async with db.tenant(tid) as c:
        for kind in ["stripe", *sources]:
            await tenants.put_connector(c, tid, kind, encrypt(key, sandbox.keys[kind]), configs[kind])
        token = await tenants.create_token(c, tid, "operator", "bench")
    return tid, token


async def slack_day_one(owner: str, db: Database, key: str, sandbox: Any, tid: str, chunk_size: int) -> float:
    """What Slack's day one leaves, without its hours: every due customer's channel read for its whole lookback (the
    day before the bench's day one, Slack's limit lifted for it), the channels' cursors and messages kept in
    PostgreSQL, and the tenant's Events API endpoint marked as answering (as bench/slack_day2.py does). At Tier 3's
    50 a minute that read is hours for thousands of channels; what the scans read next is what is measured."""
    limits = dict(sandbox.state.rate_limits)
    sandbox.state.rate_limits.clear()
    try:
        fast = ScanActivities(db, None, key, chunk_size=chunk_size, connector_rps=UNTHROTTLED)  # type: ignore[arg-type]
        seconds = await read_all(fast, tid, AS_OF - dt.timedelta(days=1))
    finally:
        sandbox.state.rate_limits.update(limits)
    async with db.tenant(tid) as c:
        await set_cursor(c, tid, SLACK_EVENTS, str(int(time.time())), AS_OF - dt.timedelta(days=1))
    await a_day_later(owner, tid)  # that read froze its own due set: the bench's day one is due again
    return seconds


async def scan_via_api(api: str, token: str, client: Client, day: dt.date, db: Database, tid: str) -> float:
    """POST /v1/scans for the day, then wait for its end, with progress; the seconds it took."""
    t = time.perf_counter()
    async with httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        started = await http.post("/v1/scans", params={"run_date": day.isoformat()})
        started.raise_for_status()
    handle = client.get_workflow_handle(started.json()["workflow_id"])
    task = asyncio.ensure_future(handle.result())
    while not task.done():
        await asyncio.wait({task}, timeout=10)
        async with db.tenant(tid) as c:
            n = await c.fetchval("select count(*) from classifications where run_date = $1", day)
        say(f"  {day}: {time.perf_counter() - t:7.1f}s  {n} classified")
    task.result()
    return time.perf_counter() - t


async def a_day_later(owner: str, tid: str) -> None:
    """The due set leaves out customers scanned in the last 23 hours (wall clock): the next day's scan, here."""
    conn = await asyncpg.connect(owner)
    try:
        await conn.execute("update customers set last_scanned_at = null where tenant_id = $1", tid)
    finally:
        await conn.close()


async def due_of(db: Database, tid: str, day: dt.date) -> int:
    async with db.tenant(tid) as c:
        return int(await c.fetchval("select count(*) from classifications where run_date = $1", day))


async def largest_history(client: Client, tid: str, day: dt.date) -> tuple[int, dict[str, int]]:
    """The tenant's largest workflow history (events), and the day's round trips by kind: workflows started (each a
    run the worker sets up, in the sandbox when it is on), workflow tasks and activities."""
    biggest, trips = 0, {"workflows": 0, "workflow_tasks": 0, "activities": 0}
    async for wf in client.list_workflows(f'Tenant = "{tid}"'):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        biggest = max(biggest, len(history.events))
        if wf.typed_search_attributes.get(search.RUN_DATE) == day.isoformat():
            trips["workflows"] += 1
            for e in history.events:
                trips["workflow_tasks"] += e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
                trips["activities"] += e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    return biggest, trips


async def slack_seconds(client: Client, tid: str, day: dt.date) -> float | None:
    """From the first Slack read of the day's scan to the last one's end (the chunks' histories)."""
    first, last = None, None
    async for wf in client.list_workflows(
        f'Tenant = "{tid}" and RunDate = "{day.isoformat()}" and WorkflowType = "ScanChunkWorkflow"'
    ):
        events = (await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()).events
        slack = {
            e.event_id
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.task_queue.name == "connector-slack"
        }
        for e in events:
            at = e.event_time.ToDatetime()
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                if e.activity_task_started_event_attributes.scheduled_event_id in slack:
                    first = min(first or at, at)
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                if e.activity_task_completed_event_attributes.scheduled_event_id in slack:
                    last = max(last or at, at)
    return round((last - first).total_seconds(), 1) if first and last else None


async def sampled(cpu: Callable[[], float], out: list[tuple[float, float]], every: float = 0.1) -> None:
    """(epoch seconds, the workers' CPU seconds so far) every `every` seconds until cancelled: which phase of the
    scan spent it is read afterwards from the scan's history (bench/phases.py)."""
    while True:
        out.append((time.time(), cpu()))
        await asyncio.sleep(every)


async def phases(client: Client, tid: str, day: dt.date, samples: list[tuple[float, float]]) -> dict[str, Any]:
    """The tenant scan's phases (its own history), in seconds and in worker CPU seconds."""
    history = await client.get_workflow_handle(ids.tenant_scan(tid, day)).fetch_history()
    spans = phase_spans(history.events)
    return {"phase_seconds": span_seconds(spans), "phase_worker_cpu_seconds": cpu_in(spans, samples)}


async def bare_fanout(client: Client, n: int) -> tuple[float, float]:
    """Units per second, and this process's CPU seconds per unit (its worker runs here; the sandbox server idles)."""
    me = psutil.Process()
    async with Worker(
        client, task_queue="bench-fanout", workflows=[BareFanout], activities=[noop], max_concurrent_activities=200
    ):
        t, cpu = time.perf_counter(), me.cpu_times()
        await client.execute_workflow(BareFanout.run, n, id=f"fanout-{uuid.uuid4().hex[:6]}", task_queue="bench-fanout")
        seconds, used = time.perf_counter() - t, me.cpu_times()
        return n / seconds, (used.user + used.system - cpu.user - cpu.system) / n


async def main(workers: int, customers: int, sources: list[str], chunk_size: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="renewals-scale-"))
    async with services(work, customers) as s:
        client, sandbox, db = s["client"], s["sandbox"], s["db"]
        key = new_key()
        tid, token = await connect_tenant(s["owner"], db, key, sandbox, sources)
        api_port = str(_free_port())
        procs = Processes(
            work,
            {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            | {
                # Bytecode, as the image has it (deploy/Dockerfile compiles it), kept out of the source tree: without
                # it the workflow sandbox compiles a workflow's module from source for every workflow run.
                "PYTHONPYCACHEPREFIX": str(work / "pycache"),
                "DATABASE_URL": s["owner"],
                "RENEWALS_APP_DB_PASSWORD": APP_PASSWORD,
                "RENEWALS_SECRET_KEY": key,
                "RENEWALS_TEMPORAL_ADDRESS": client.service_client.config.target_host,
                "RENEWALS_SMTP_PORT": str(s["smtp"].port),
                "RENEWALS_CHUNK_SIZE": str(chunk_size),
                "RENEWALS_API_PORT": api_port,
            },
        )
        api = f"http://127.0.0.1:{api_port}"
        try:
            say(f"starting {workers} worker processes and the API (logs in {work})…")
            procs.workers(workers)
            procs.start("api", "api")

            async def api_up() -> bool:
                try:
                    async with httpx.AsyncClient(timeout=2) as http:
                        return (await http.get(f"{api}/v1/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(api_up, "the API", 120)
            await until(procs.workers_ready, "the workers", 120)

            if "slack" in sources:
                say("Slack's day one (the whole lookback of every due channel), its limit lifted…")
                say(f"  {await slack_day_one(s['owner'], db, key, sandbox, tid, chunk_size):.1f}s")
            say(f"day one, limits enforced {LIMITS}…")
            sandbox.reset()
            await scan_via_api(api, token, client, AS_OF, db, tid)
            seen = sandbox.observed_rps()  # each vendor's busiest window: a clock second, a clock minute for Slack
            counts = {v: sum(c.values()) for v, c in sandbox.request_counts().items()}

            day2 = AS_OF + dt.timedelta(days=1)
            slack_day2 = None
            if "slack" in sources:
                say("day two, limits enforced: what the Slack reads cost once the history is known…")
                await a_day_later(s["owner"], tid)
                await scan_via_api(api, token, client, day2, db, tid)
                slack_day2 = await slack_seconds(client, tid, day2)

            say("second pass, vendors unthrottled (sandbox limits off, worker pacing lifted)…")
            procs.stop_workers()
            sandbox.state.rate_limits.clear()
            procs.workers(workers, extra={"RENEWALS_CONNECTOR_RPS": json.dumps(UNTHROTTLED)})
            await until(procs.workers_ready, "the workers", 120)  # their start-up is not the scan's time
            day3 = AS_OF + dt.timedelta(days=2)
            await a_day_later(s["owner"], tid)
            cpu = procs.worker_cpu()
            samples: list[tuple[float, float]] = []
            sampler = asyncio.ensure_future(sampled(procs.worker_cpu, samples))
            try:
                seconds = await scan_via_api(api, token, client, day3, db, tid)
            finally:
                sampler.cancel()
            samples.append((time.time(), procs.worker_cpu()))
            cpu = procs.worker_cpu() - cpu
            breakdown = await phases(client, tid, day3, samples)
            due = await due_of(db, tid, day3)
            rate = due / seconds
            say("largest history, and the bare fan-out on the same server…")
            events, trips = await largest_history(client, tid, day3)
            fan, fan_cpu = await bare_fanout(client, due)
        finally:
            procs.stop()
    return {
        "workers": workers,
        "customers": customers,
        "sources": ["stripe", *sources],
        "due": due,
        "scan_seconds": round(seconds, 1),
        "customers_per_second": round(rate, 1),
        "bare_fanout_per_second": round(fan, 1),
        "scan_to_fanout_ratio": round(rate / fan, 3),
        "largest_history_events": events,
        "round_trips_per_customer": {k: round(n / due, 3) for k, n in trips.items()},
        # CPU per due customer in the worker processes over the second pass, and per unit of the bare fan-out (its
        # worker's CPU only: the server's is in neither), in milliseconds
        "worker_cpu_ms_per_customer": round(cpu * 1000 / due, 2),
        "bare_fanout_cpu_ms_per_unit": round(fan_cpu * 1000, 2),
        # The second pass's tenant scan by phase (its history: first scheduled to last closed, so phases run side by
        # side overlap), and the worker processes' CPU seconds in each; "before_chunks" is what the whole-tenant
        # reads cost before the first chunk starts.
        **breakdown,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "vendor_requests_per_customer": {v: round(n / customers, 3) for v, n in sorted(counts.items())},
        "max_observed_rps": {v: s["max_rps"] for v, s in seen.items()},
        "rps_limit": {v: round(r, 4) for v, r in LIMITS.items() if v in ["stripe", *sources]},
        "rps_window_seconds": {v: s["window_seconds"] for v, s in seen.items()},
        "slack_day2_seconds": slack_day2,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--chunk-size", type=int, default=200)
    p.add_argument(
        "--sources",
        default="hubspot,salesforce,slack",
        help="optional sources connected besides Stripe (comma-separated; empty for Stripe only)",
    )
    a = p.parse_args()
    result = asyncio.run(main(a.workers, a.customers, [x for x in a.sources.split(",") if x], a.chunk_size))
    print(json.dumps(result), flush=True)
