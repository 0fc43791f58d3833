"""API load: N operators list the inbox and send drafts over HTTP on loopback, against `renewals api`, the
workflows' worker (`renewals worker --queues main`) and the email worker (`--queues email`), each its own process as
deploy/ runs them, the Temporal dev server, an embedded PostgreSQL and an SMTP sink. A send's latency is the
decision's: the Workflow Update round-trip until the workflow accepted it. Delivery is measured apart, with the
tenant's undo window at 0: from the accepted answer to the SMTP sink receiving the message (`delivered_p99_ms`).

The drafts are written straight into Postgres (a customer, its evidence, a verdict, a diary entry and a draft each)
and each gets its real ApprovalWorkflow, so the figures measure the operator surface, not a scan.

    python -m bench.api_load --operators 50 --drafts 500 --rounds 5                 # operators at a person's pace
    python -m bench.api_load --operators 50 --drafts 500 --rounds 5 --think-ms 0    # the machine's throughput

The operator model. Fifty operators are a fixed group of people, each waiting for their answer and then reading
before the next click: a closed loop with think time (the interactive-system model: N users, think time Z; the
response time is what one of them waits). By default each pauses THINK_MS, uniform 0.5-1.5 times it, before each
request: one to three seconds to read the queue or a draft before pressing Send, quicker than a person reviewing a
renewal email (the page also opens the draft, which this does not count), so a heavy load of real operators. The
percentiles are then what an operator waits.

`--think-ms 0` keeps the closed loop with no pause: each operator fires the moment the last answer arrives, so at
every moment 50 requests are queued and, by Little's law, latency = 50 / throughput, whatever the code does per
request. That measures the machine's capacity (`requests_per_second`), not an operator's wait: p99 < 100 ms there
needs > 500 requests a second through the API, Temporal, the workers and PostgreSQL on this machine's cores.
An open loop (arrivals at a fixed rate whatever the answers) would model an unbounded crowd, not fifty people.
`requests_per_second` is printed either way.

The cost, which a shared machine's load does not change: the CPU each process spent, per request over the load
(`api_cpu_ms_per_request`, `worker_cpu_ms_per_send`, `email_cpu_ms_per_send`, and the Temporal dev server's and
PostgreSQL's per request, which share the cores), and `one_at_a_time`: before the load, ALONE lists and then ALONE
sends, one request at a time, with each kind's CPU per process and its latency with nothing queued ahead of it.
`--page` makes each operator behave as the inbox page does: open the draft (GET /v1/drafts/{id}) before Send, and
read it every 500 ms while it is `sending` (`open_p99_ms`; those reads count in `requests_per_second`).
`--profile DIR` samples the API and the two workers with py-spy over the load (folded stacks, one file each).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import psutil
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.factors import DEFAULT_WEIGHTS, breakdown
from core.secrets import new_key
from db import tenants
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from db.scans import approval_workflow_id, draft_id
from schemas import queues, search
from schemas.evidence import EvidenceItem
from schemas.workflow_io import ApprovalInput
from workers.stack import SmtpSink, start_embedded_postgres, temporal_binary

RUN = dt.date(2026, 11, 22)
THINK_MS = 2000.0  # an operator's default pause before each request: see the module docstring
ALONE = 100  # lists, then sends, one at a time before the load: each kind's cost apart


def pct(values: list[float], p: int) -> float:
    return round(statistics.quantiles(values, n=100)[p - 1] * 1000, 1) if len(values) > 1 else 0.0


async def seed(db: Database, tenant: str, n: int) -> list[tuple[str, str, str]]:
    """n pending drafts with their rows; (draft id, customer id, workflow id) each."""
    out, customers, evidence, verdicts, diary, drafts = [], [], [], [], [], []
    for i in range(n):
        cid = f"cus_{i:06d}"
        items = [
            EvidenceItem(
                source_id=f"stripe:in_{cid}",
                kind="invoice_paid_late",
                factor="payment_history",
                signal=-0.7,
                summary="Invoice paid 21 days late",
                facts={"days_late": 21},
            )
        ]
        factors = breakdown(items, DEFAULT_WEIGHTS).model_dump(mode="json") | {"notes": []}
        did, wid = draft_id(tenant, cid, RUN), approval_workflow_id(tenant, cid, RUN)
        customers.append((tenant, cid, f"Customer {i}", f"owner@{cid}.example", 1_000_00 * (i % 900 + 1)))
        evidence.append((tenant, cid, RUN, [it.model_dump(mode="json") for it in items]))
        verdicts.append((tenant, cid, RUN, factors["total"], factors, [items[0].source_id]))
        diary.append((tenant, cid, RUN, f"Invoice {items[0].source_id} was paid 21 days late.", [items[0].source_id]))
        drafts.append(
            (
                did,
                tenant,
                cid,
                RUN,
                f"owner@{cid}.example",
                f"Hello,\n\nYour invoice ({items[0].source_id}) was paid 21 days late.\n",
                [items[0].source_id],
                wid,
            )
        )
        out.append((did, cid, wid))
    async with db.tenant(tenant) as conn:
        await conn.executemany(
            """insert into customers (tenant_id, id, name, email, arr_cents, renewal_date)
                                  values ($1, $2, $3, $4, $5, '2027-01-05')""",
            customers,
        )
        await conn.executemany(
            "insert into evidence (tenant_id, customer_id, run_date, source, items) values ($1, $2, $3, 'stripe', $4)",
            evidence,
        )
        await conn.executemany(
            """
            insert into classifications (tenant_id, customer_id, run_date, classification, severity, score, factors,
                                         cited_source_ids, recommended_action, route, model)
            values ($1, $2, $3, 'at_risk', 'MEDIUM', $4, $5, $6, 'send_save_email', 'TIER2', 'offline')""",
            verdicts,
        )
        await conn.executemany(
            """insert into diary_entries (tenant_id, customer_id, run_date, paragraph,
                                  cited_source_ids) values ($1, $2, $3, $4, $5)""",
            diary,
        )
        await conn.executemany(
            """
            insert into drafts (id, tenant_id, customer_id, run_date, kind, to_email, subject, body, anchors,
                                workflow_id)
            values ($1, $2, $3, $4, 'save', $5, 'About your renewal', $6, $7, $8)""",
            drafts,
        )
    return out


EMAIL_NICE = 10  # as deploy/systemd/renewals-worker-email.service


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`renewals api` or `renewals worker --queues …`, as deployed: its own process, configured by environment."""
    exe = Path(sys.executable).parent / "renewals"
    return subprocess.Popen([str(exe), *args], env=os.environ | env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def wait_for_health(base: str, proc: subprocess.Popen[bytes], within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base) as http:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the API exited with {proc.returncode}")
            try:
                if (await http.get("/v1/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not come up")
            await asyncio.sleep(0.2)


def profile(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling one of the processes for the load phase (a flame graph, or `--format raw` folded stacks)."""
    exe = Path(sys.executable).parent / "py-spy"
    if not exe.exists():  # a profiler, not a dependency of the project
        raise SystemExit("--profile needs py-spy in this virtualenv: uv pip install py-spy")
    args = [str(exe), "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def servers(pgdata: Path) -> dict[str, psutil.Process]:
    """The Temporal dev server (this process's child) and PostgreSQL's postmaster (its backends are its children)."""
    temporal = [p for p in psutil.Process().children(recursive=True) if "temporal" in p.name()]
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    return {"temporal": temporal[0], "postgres": psutil.Process(postmaster)}


def tree_cpu_s(proc: psutil.Process) -> float:
    """CPU seconds of a process, its children that ended (reaped) and those still running."""
    live = 0.0
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            live += sum(child.cpu_times()[:2])
    return sum(proc.cpu_times()[:4]) + live


async def main(
    operators: int,
    n_drafts: int,
    rounds: int,
    think_ms: float = THINK_MS,
    prof: Path | None = None,
    page: bool = False,
) -> None:
    work = Path(tempfile.mkdtemp(prefix="renewals-api-load-"))
    print(
        f"starting Postgres, the dev server and the SMTP sink; the worker and the API as processes (logs in {work})…",
        flush=True,
    )
    owner = await ensure_database(start_embedded_postgres(work / "pg"), "bench")
    await migrate(owner, "bench")
    db = await Database.connect(app_dsn(owner, "bench"), max_size=20)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=list(search.ALL),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    )
    smtp = SmtpSink().start()
    received: dict[str, float] = {}

    class Timed(list):  # type: ignore[type-arg]
        """The sink's message list, noting when each draft's email arrived (the sink runs in its own thread)."""

        def append(self, msg: object) -> None:
            received.setdefault(msg["X-Renewals-Draft"], time.perf_counter())  # type: ignore[index]
            super().append(msg)

    smtp.messages = Timed()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "DATABASE_URL": owner,
        "RENEWALS_APP_DB_PASSWORD": "bench",
        "RENEWALS_SECRET_KEY": new_key(),
        "RENEWALS_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "RENEWALS_API_HOST": "127.0.0.1",
        "RENEWALS_API_PORT": str(port),
        "RENEWALS_SMTP_HOST": smtp.host,
        "RENEWALS_SMTP_PORT": str(smtp.port),
        "RENEWALS_DATA_DIR": str(work),
    }
    # As deploy/ runs them: the workflows' worker, the email worker (deliveries never queue ahead of a decision's
    # workflow task), the API. On one host the email worker runs at a lower CPU priority (deploy/systemd's Nice=10):
    # a delivery may wait a few milliseconds for a core, an operator's decision should not.
    procs = {
        "worker": spawn(["worker", "--no-schedules", "--queues", "main"], config, work / "worker.log"),
        "email": spawn(["worker", "--no-schedules", "--queues", "email"], config, work / "email.log"),
        "api": spawn(["api"], config, work / "api.log"),
    }
    psutil.Process(procs["email"].pid).nice(EMAIL_NICE)
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_for_health(base, procs["api"])
        conn = await asyncpg.connect(owner)
        await tenants.create_tenant(conn, tenant, "Bench")
        # The undo window off: each send is delivered as soon as it is accepted, so delivery can be timed.
        await conn.execute("update tenant_settings set undo_window_seconds = 0 where tenant_id = $1", tenant)
        t0 = time.perf_counter()
        rss0 = psutil.Process(procs["worker"].pid).memory_info().rss
        rows = await seed(db, tenant, n_drafts)
        await conn.execute("analyze")  # what autovacuum does after a scan's bulk writes; the plans depend on it
        await conn.close()
        gate = asyncio.Semaphore(50)

        async def start(did: str, cid: str, wid: str) -> None:
            async with gate:
                await env.client.start_workflow(
                    "ApprovalWorkflow",
                    ApprovalInput(tenant_id=tenant, draft_id=did, customer_id=cid, run_date=RUN),
                    id=wid,
                    task_queue=queues.MAIN,
                    search_attributes=search.attrs((search.TENANT, tenant), (search.DRAFT_STATUS, "pending")),
                )

        await asyncio.gather(*(start(*r) for r in rows))

        async def settled(wid: str) -> None:
            # A draft in an inbox has been waiting a while: its workflow has run its first task. (An update that
            # reaches a workflow before that first task runs is rejected today: see the report on
            # workflows/approval.py; this benchmark measures the steady state.)
            async with gate:
                for _ in range(3000):
                    info = (await env.client.get_workflow_handle(wid).describe()).raw_description
                    if info.workflow_execution_info.history_length >= 3:
                        return
                    await asyncio.sleep(0.2)
                raise RuntimeError(f"{wid} never ran its first workflow task")

        await asyncio.gather(*(settled(wid) for _, _, wid in rows))
        print(f"seeded {len(rows)} waiting drafts in {time.perf_counter() - t0:.1f}s", flush=True)
        # Every waiting approval is in the worker's workflow cache now (fewer than its size): what each one holds.
        cached_kb = (psutil.Process(procs["worker"].pid).memory_info().rss - rss0) / 1024 / max(1, len(rows))
        async with db.tenant(tenant) as c:
            token = await tenants.create_token(c, tenant, "operator", "load")
        accepted: dict[str, float] = {}
        failures: list[str] = []
        queue = asyncio.Queue[str]()
        for did, _, _ in rows:
            queue.put_nowait(did)

        async def think() -> None:
            if think_ms:
                await asyncio.sleep(random.uniform(0.5, 1.5) * think_ms / 1000)

        async def list_once(http: httpx.AsyncClient, into: list[float]) -> None:
            t = time.perf_counter()
            r = await http.get("/v1/drafts?limit=50")
            into.append(time.perf_counter() - t)
            if r.status_code != 200:
                failures.append(f"list {r.status_code}: {r.text[:200]}")

        async def open_once(http: httpx.AsyncClient, did: str, into: list[float]) -> str:
            t = time.perf_counter()
            r = await http.get(f"/v1/drafts/{did}")
            into.append(time.perf_counter() - t)
            if r.status_code != 200:
                failures.append(f"open {r.status_code}: {r.text[:200]}")
                return "unknown"
            status: str = r.json()["status"]
            return status

        async def send_once(http: httpx.AsyncClient, into: list[float], did: str | None = None) -> None:
            did = did or queue.get_nowait()
            t = time.perf_counter()
            r = await http.post(f"/v1/drafts/{did}/send")
            into.append(time.perf_counter() - t)
            accepted[did] = time.perf_counter()
            if r.status_code != 200:
                failures.append(f"send {r.status_code}: {r.text[:200]}")

        async def all_delivered() -> None:
            deadline = time.perf_counter() + 300
            # The sink appends from its own thread; polling is the simplest bridge to this loop.
            while len(set(accepted) & set(received)) < len(accepted) and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)

        lists: list[float] = []
        sends: list[float] = []

        opens: list[float] = []

        async def operator(http: httpx.AsyncClient) -> None:
            for _ in range(rounds):
                await think()
                await list_once(http, lists)
                if queue.empty():
                    continue
                if not page:
                    await think()
                    await send_once(http, sends)
                    continue
                # As api/static/inbox.html does: open the draft, read it, Send, then read it every 500 ms until it
                # leaves `sending` (the page's poll).
                did = queue.get_nowait()
                await open_once(http, did, opens)
                await think()
                await send_once(http, sends, did)
                deadline = time.perf_counter() + 60
                # The page's own poll, modelled as it is (a timer, not an event).
                while await open_once(http, did, opens) == "sending" and time.perf_counter() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.5)

        watched = {k: psutil.Process(p.pid) for k, p in procs.items()}
        shared = servers(work / "pg" / "pg")

        def cpu_s() -> dict[str, float]:
            return {k: sum(p.cpu_times()[:2]) for k, p in watched.items()} | {
                k: tree_cpu_s(p) for k, p in shared.items()
            }

        async with httpx.AsyncClient(
            base_url=base,
            timeout=120,
            # Idle connections closed here before uvicorn's 5 s keep-alive closes them there: reusing one the
            # server is closing at that moment fails the request (a ReadError, seen after the one-at-a-time phase).
            limits=httpx.Limits(max_connections=operators, keepalive_expiry=4),
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            # First the cost of each kind of request on its own: one operator, one request at a time, the CPU each
            # process spent on it (which, unlike a latency on a shared machine, the machine's other load does not
            # change) and its latency with nothing queued ahead of it.
            alone_lists: list[float] = []
            alone_sends: list[float] = []
            c0 = cpu_s()
            for _ in range(ALONE):
                await list_once(http, alone_lists)
            c1 = cpu_s()
            for _ in range(min(ALONE, queue.qsize())):
                await send_once(http, alone_sends)
            await all_delivered()
            c2 = cpu_s()
            n = max(1, len(alone_sends))
            alone = {
                "api_cpu_ms_per_list": round((c1["api"] - c0["api"]) * 1000 / ALONE, 2),
                "api_cpu_ms_per_send": round((c2["api"] - c1["api"]) * 1000 / n, 2),
                "worker_cpu_ms_per_send": round((c2["worker"] - c1["worker"]) * 1000 / n, 2),
                "email_cpu_ms_per_send": round((c2["email"] - c1["email"]) * 1000 / n, 2),
                "temporal_cpu_ms_per_list": round((c1["temporal"] - c0["temporal"]) * 1000 / ALONE, 2),
                "temporal_cpu_ms_per_send": round((c2["temporal"] - c1["temporal"]) * 1000 / n, 2),
                "postgres_cpu_ms_per_list": round((c1["postgres"] - c0["postgres"]) * 1000 / ALONE, 2),
                "postgres_cpu_ms_per_send": round((c2["postgres"] - c1["postgres"]) * 1000 / n, 2),
                "list_p50_ms": pct(alone_lists, 50),
                "send_p50_ms": pct(alone_sends, 50),
            }
            accepted.clear()  # the load's deliveries only, below
            # Then the operators together, for the whole load phase (deliveries included).
            cpu0 = cpu_s()
            spies = [profile(p.pid, prof / f"{k}.folded") for k, p in watched.items()] if prof else []
            t0 = time.perf_counter()
            await asyncio.gather(*[operator(http) for _ in range(operators)])
            wall = time.perf_counter() - t0
        await all_delivered()
        delivered = [received[d] - accepted[d] for d in accepted if d in received]
        cpu = {k: v - cpu0[k] for k, v in cpu_s().items()}
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its samples out on SIGINT
            spy.wait(timeout=60)
        requests = max(1, len(lists) + len(sends) + len(opens))
        print(
            json.dumps(
                {
                    "operators": operators,
                    "think_ms": think_ms,
                    "operator_model": (
                        "closed loop with think time" if think_ms else "closed loop, no pause (throughput)"
                    )
                    + (", as the inbox page (opens, polls)" if page else ""),
                    "drafts_waiting_at_start": len(rows),
                    "lists": len(lists),
                    "sends": len(sends),
                    "failures": len(failures),
                    "emails_received": len(smtp.messages),
                    "wall_seconds": round(wall, 1),
                    "requests_per_second": round(requests / wall, 1),
                    "api_cpu_ms_per_request": round(cpu["api"] * 1000 / requests, 2),
                    "worker_cpu_ms_per_send": round(cpu["worker"] * 1000 / max(1, len(sends)), 2),
                    "email_cpu_ms_per_send": round(cpu["email"] * 1000 / max(1, len(sends)), 2),
                    # The servers every request goes through, on the same cores: per request (lists and sends).
                    "temporal_cpu_ms_per_request": round(cpu["temporal"] * 1000 / requests, 2),
                    "postgres_cpu_ms_per_request": round(cpu["postgres"] * 1000 / requests, 2),
                    "load_average_1m": round(os.getloadavg()[0], 1),
                    "list_p50_ms": pct(lists, 50),
                    "list_p99_ms": pct(lists, 99),
                    "send_p50_ms": pct(sends, 50),
                    "send_p99_ms": pct(sends, 99),
                    **(
                        {"opens": len(opens), "open_p50_ms": pct(opens, 50), "open_p99_ms": pct(opens, 99)}
                        if page
                        else {}
                    ),
                    "delivered": len(delivered),
                    "delivered_p50_ms": pct(delivered, 50),
                    "delivered_p99_ms": pct(delivered, 99),
                    "one_at_a_time": alone,
                    "worker_kb_per_waiting_approval": round(cached_kb, 1),
                },
                indent=2,
            )
        )
        for f in failures[:5]:
            print("  failure:", f)
    finally:
        for proc in procs.values():  # only the processes this benchmark started
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        smtp.stop()
        await db.close()
        await env.shutdown()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--operators", type=int, default=50)
    p.add_argument("--drafts", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument(
        "--think-ms",
        type=float,
        default=THINK_MS,
        help=f"each operator's pause before each request, uniform 0.5-1.5 times it (default {THINK_MS:.0f}); "
        "0: a closed loop with no pause, the throughput test",
    )
    p.add_argument(
        "--page",
        action="store_true",
        help="operators as the inbox page: open each draft before Send, then poll it every 500 ms until it settles",
    )
    p.add_argument("--profile", type=Path, help="a folder: py-spy samples the API and the worker into it (folded)")
    a = p.parse_args()
    asyncio.run(main(a.operators, a.drafts, a.rounds, a.think_ms, a.profile, a.page))
