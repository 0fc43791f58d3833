"""`make chaos`: rerun production faults against the real stack and print what happened.

    python -m bench.chaos [--short] [--only NAME ...] [--customers N] [--outage SECONDS]

One stack for the whole run: a stoppable embedded PostgreSQL, the Temporal dev server, the vendor sandbox (and a
copy of its workspace with malformed records), an SMTP sink, and the worker as a child process (so it can be
killed). Each scenario gets a fresh tenant and reports one Row: the fault, what should happen, what did, and what
was lost, which must be 0. The last output is the table, then a JSON object with the rows; the exit status is 1
when any row lost something or saw the wrong thing.

Adding a fault: write `async def my_fault(stack: ChaosStack) -> Row` in a module of bench/ and decorate it with
`@scenario` (keep it quick in `stack.short`), then list the module in MODULES.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.faults import EmbeddedPostgres, Malformed, malformed_copy
from core.secrets import encrypt, new_key
from db import tenants
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from schemas import search
from workers.stack import SmtpSink, temporal_binary

AS_OF = __import__("datetime").date(2026, 11, 22)  # the generated workspace's "today"
APP_PASSWORD = "chaos"
# Each registers its scenarios with @scenario when imported.
MODULES = ["bench.chaos_scan", "bench.chaos_api", "bench.chaos_ops"]


@dataclass
class Row:
    fault: str
    expected: str
    observed: str
    lost: int  # customers (or emails, drafts…) the fault cost: must be 0
    ok: bool = True  # the observed behaviour is the expected one
    seconds: float = 0.0
    detail: dict[str, object] = field(default_factory=dict)


@dataclass
class ChaosStack:
    pg: EmbeddedPostgres
    owner_dsn: str
    db: Database
    client: Client
    sandbox: object  # sandbox.server.SandboxHandle, on the generated workspace
    broken: tuple[object, Malformed]  # a second sandbox on the malformed copy, and what was broken
    smtp: SmtpSink
    key: str
    work: Path
    short: bool
    outage: float
    worker: subprocess.Popen[bytes] | None = None

    def worker_env(self) -> dict[str, str]:
        return os.environ | {
            "RENEWALS_TEMPORAL_ADDRESS": self.client.service_client.config.target_host,
            "DATABASE_URL": self.owner_dsn,
            "RENEWALS_APP_DB_PASSWORD": APP_PASSWORD,
            "RENEWALS_SECRET_KEY": self.key,
            "RENEWALS_CHUNK_SIZE": "20",
            "RENEWALS_DATA_DIR": str(self.work),
            "RENEWALS_SMTP_PORT": str(self.smtp.port),
        }

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "workers.cli", "worker", "--no-schedules"],
            env=self.worker_env(),
            cwd=Path(__file__).resolve().parents[1],
            stdout=subprocess.DEVNULL,
            stderr=open(self.work / "worker.log", "ab"),  # noqa: SIM115 - lives as long as the worker
        )

    def kill_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait()

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill_worker()

    async def tenant(self, stripe_base: str | None = None, stripe_key: str | None = None) -> str:
        """A fresh tenant connected to the sandbox's Stripe (or the given one)."""
        tid = f"chaos-{uuid.uuid4().hex[:8]}"
        owner = await asyncpg.connect(self.owner_dsn)
        try:
            await tenants.create_tenant(owner, tid, f"Chaos {tid}")
        finally:
            await owner.close()
        sandbox = self.sandbox
        async with self.db.tenant(tid) as conn:
            await tenants.put_connector(
                conn,
                tid,
                "stripe",
                encrypt(self.key, stripe_key or sandbox.keys["stripe"]),  # type: ignore[attr-defined]
                {"api_base": stripe_base or sandbox.stripe_api_base},  # type: ignore[attr-defined]
            )
        return tid


Scenario = Callable[[ChaosStack], Awaitable[Row]]
SCENARIOS: list[Scenario] = []


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS.append(fn)
    return fn


async def build_stack(work: Path, customers: int, short: bool, outage: float) -> ChaosStack:
    from sandbox.generate import generate_workspace
    from sandbox.server import start_sandbox

    print(f"chaos: generating {customers} customers, starting PostgreSQL, Temporal, the sandbox…", flush=True)
    workspace = generate_workspace(work / "ws", customers=customers, as_of=AS_OF, seed=5)
    pg = EmbeddedPostgres(work / "pg")
    owner_dsn = await ensure_database(pg.uri, "chaos")
    await migrate(owner_dsn, APP_PASSWORD)
    db = await Database.connect(app_dsn(owner_dsn, APP_PASSWORD))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=list(search.ALL),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    )
    # Stripe held to 40 requests/s (above the worker's own 20/s pace), as in the worker-crash test.
    sandbox = start_sandbox(workspace, rate_limits={"stripe": 40})
    bad = malformed_copy(workspace, work / "ws-malformed", AS_OF)
    stack = ChaosStack(
        pg=pg,
        owner_dsn=owner_dsn,
        db=db,
        client=env.client,
        sandbox=sandbox,
        broken=(start_sandbox(bad.workspace), bad),
        smtp=SmtpSink().start(),
        key=new_key(),
        work=work,
        short=short,
        outage=outage,
    )
    stack._env = env  # type: ignore[attr-defined]  # shut down in close_stack
    stack.start_worker()
    return stack


async def close_stack(stack: ChaosStack) -> None:
    stack.stop_worker()
    stack.pg.start()  # in case a scenario was interrupted with the database down
    for handle in (stack.sandbox, stack.broken[0]):
        handle.stop()  # type: ignore[attr-defined]
    stack.smtp.stop()
    await stack.db.close()
    await stack._env.shutdown()  # type: ignore[attr-defined]


def quiet_pool_refills(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """While PostgreSQL is down on purpose, asyncpg's pool keeps trying to refill itself in the background and
    asyncio would print each failure's traceback; those are the fault, not news. Anything else is printed."""
    if "_maintain_min_size" in repr(context.get("future") or context.get("task") or ""):
        return
    loop.default_exception_handler(context)


def table(rows: list[Row]) -> str:
    cols = ["fault", "expected", "observed", "lost", "ok", "seconds"]
    cells = [[r.fault, r.expected, r.observed, str(r.lost), "yes" if r.ok else "NO", f"{r.seconds:.0f}"] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    line = lambda xs: "| " + " | ".join(x.ljust(w) for x, w in zip(xs, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(cols), line(["-" * w for w in widths]), *(line(x) for x in cells)])


async def run(args: argparse.Namespace) -> int:
    for module in MODULES:
        importlib.import_module(module)
    # Run as `python -m bench.chaos`, this module is __main__: the scenarios registered with `bench.chaos`.
    registry = importlib.import_module("bench.chaos")
    chosen = [s for s in registry.SCENARIOS if not args.only or s.__name__ in args.only]
    work = Path(tempfile.mkdtemp(prefix="renewals-chaos-"))
    asyncio.get_running_loop().set_exception_handler(quiet_pool_refills)
    stack = await build_stack(work, args.customers, args.short, args.outage)
    rows: list[Row] = []
    try:
        for fn in chosen:
            print(f"chaos: {fn.__name__}…", flush=True)
            started = time.monotonic()
            try:
                row = await fn(stack)
            except Exception as e:  # a scenario that breaks is a row that says so, and the others still run
                row = Row(fn.__name__, "-", f"scenario raised {type(e).__name__}: {e}", lost=-1, ok=False)
            row.seconds = time.monotonic() - started
            rows.append(row)
            print(f"  {row.observed} (lost {row.lost}, {'ok' if row.ok else 'NOT OK'})", flush=True)
            if stack.worker is None or stack.worker.poll() is not None:
                stack.start_worker()  # a scenario that killed it leaves the next one a live worker
    finally:
        await close_stack(stack)
    print()
    print(table(rows))
    print(json.dumps({"rows": [asdict(r) for r in rows], "lost": sum(max(r.lost, 0) for r in rows),
                      "ok": all(r.ok and r.lost == 0 for r in rows)}))  # fmt: skip
    return 0 if all(r.ok and r.lost == 0 for r in rows) else 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true", help="a few minutes, for CI: fewer customers, shorter outages")
    p.add_argument("--only", nargs="*", metavar="NAME", help="run only these scenarios (function names)")
    p.add_argument("--customers", type=int, default=None, help="customers in the workspace (120 short, 400 full)")
    p.add_argument("--outage", type=float, default=None, help="seconds PostgreSQL stays down (75 short, 240 full)")
    args = p.parse_args()
    args.customers = args.customers or (120 if args.short else 400)
    args.outage = args.outage or (75.0 if args.short else 240.0)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
