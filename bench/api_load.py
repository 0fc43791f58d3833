"""API load: N concurrent operators list the inbox and send drafts over HTTP on loopback, against `renewals api`
and `renewals worker` each in its own process (as deployed), the Temporal dev server, an embedded PostgreSQL and an
SMTP sink. A send's latency is the decision's: the Workflow Update round-trip until the workflow accepted it.
Delivery is measured apart, with the tenant's undo window at 0: from the accepted answer to the SMTP sink
receiving the message (`delivered_p99_ms`).

The drafts are written straight into Postgres (a customer, its evidence, a verdict, a diary entry and a draft each)
and each gets its real ApprovalWorkflow, so the figures measure the operator surface, not a scan.

    python -m bench.api_load --operators 50 --drafts 1000 --rounds 10

By default each operator fires its next request the moment the last one answers (a closed loop with no pause): a
throughput test, where every request waits behind the other 49 operators' requests (mean latency = operators /
throughput). `--think-ms 2000` gives each operator a pause between requests (uniform, 0.5-1.5 times it), as a
person reading a draft has. `api_cpu_ms_per_request` and `worker_cpu_ms_per_send` are the CPU the API and the
worker processes spent per request: the cost, which a shared machine's load does not change.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
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


def spawn(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`renewals api` or `renewals worker`, as deployed: its own process, configured by environment."""
    exe = Path(sys.executable).parent / "renewals"
    args = [str(exe), command] + (["--no-schedules"] if command == "worker" else [])
    return subprocess.Popen(args, env=os.environ | env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


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


async def main(operators: int, n_drafts: int, rounds: int, think_ms: float = 0) -> None:
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
    procs = [spawn("worker", config, work / "worker.log"), spawn("api", config, work / "api.log")]
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_for_health(base, procs[1])
        conn = await asyncpg.connect(owner)
        await tenants.create_tenant(conn, tenant, "Bench")
        # The undo window off: each send is delivered as soon as it is accepted, so delivery can be timed.
        await conn.execute("update tenant_settings set undo_window_seconds = 0 where tenant_id = $1", tenant)
        t0 = time.perf_counter()
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
        async with db.tenant(tenant) as c:
            token = await tenants.create_token(c, tenant, "operator", "load")
        lists: list[float] = []
        sends: list[float] = []
        accepted: dict[str, float] = {}
        failures: list[str] = []
        queue = asyncio.Queue[str]()
        for did, _, _ in rows:
            queue.put_nowait(did)

        async def think() -> None:
            if think_ms:
                await asyncio.sleep(random.uniform(0.5, 1.5) * think_ms / 1000)

        async def operator(http: httpx.AsyncClient) -> None:
            for _ in range(rounds):
                await think()
                t = time.perf_counter()
                r = await http.get("/v1/drafts?limit=50")
                lists.append(time.perf_counter() - t)
                if r.status_code != 200:
                    failures.append(f"list {r.status_code}: {r.text[:200]}")
                if queue.empty():
                    continue
                await think()
                did = queue.get_nowait()
                t = time.perf_counter()
                r = await http.post(f"/v1/drafts/{did}/send")
                sends.append(time.perf_counter() - t)
                accepted[did] = time.perf_counter()
                if r.status_code != 200:
                    failures.append(f"send {r.status_code}: {r.text[:200]}")

        # CPU each process spent on the load phase: the cost of a request, which (unlike its latency on a shared
        # machine) does not depend on what else the machine is running.
        watched = {"api": psutil.Process(procs[1].pid), "worker": psutil.Process(procs[0].pid)}
        cpu0 = {k: sum(p.cpu_times()[:2]) for k, p in watched.items()}
        async with httpx.AsyncClient(
            base_url=base,
            timeout=120,
            limits=httpx.Limits(max_connections=operators),
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            t0 = time.perf_counter()
            await asyncio.gather(*[operator(http) for _ in range(operators)])
            wall = time.perf_counter() - t0
        deadline = time.perf_counter() + 300
        # The sink appends from its own thread; polling is the simplest bridge to this loop.
        while len(set(accepted) & set(received)) < len(accepted) and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        delivered = [received[d] - accepted[d] for d in accepted if d in received]
        cpu = {k: sum(p.cpu_times()[:2]) - cpu0[k] for k, p in watched.items()}  # deliveries included
        print(
            json.dumps(
                {
                    "operators": operators,
                    "think_ms": think_ms,
                    "drafts_waiting_at_start": len(rows),
                    "lists": len(lists),
                    "sends": len(sends),
                    "failures": len(failures),
                    "emails_received": len(smtp.messages),
                    "wall_seconds": round(wall, 1),
                    "requests_per_second": round((len(lists) + len(sends)) / wall, 1),
                    "api_cpu_ms_per_request": round(cpu["api"] * 1000 / max(1, len(lists) + len(sends)), 2),
                    "worker_cpu_ms_per_send": round(cpu["worker"] * 1000 / max(1, len(sends)), 2),
                    "load_average_1m": round(os.getloadavg()[0], 1),
                    "list_p50_ms": pct(lists, 50),
                    "list_p99_ms": pct(lists, 99),
                    "send_p50_ms": pct(sends, 50),
                    "send_p99_ms": pct(sends, 99),
                    "delivered": len(delivered),
                    "delivered_p50_ms": pct(delivered, 50),
                    "delivered_p99_ms": pct(delivered, 99),
                },
                indent=2,
            )
        )
        for f in failures[:5]:
            print("  failure:", f)
    finally:
        for proc in procs:  # only the two processes this benchmark started
            proc.terminate()
        for proc in procs:
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
    p.add_argument("--think-ms", type=float, default=0, help="each operator's pause between requests (default none)")
    a = p.parse_args()
    asyncio.run(main(a.operators, a.drafts, a.rounds, a.think_ms))
