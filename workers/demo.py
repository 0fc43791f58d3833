"""`renewals demo`: the whole stack on one machine, a demo tenant from a sample workspace, a scan at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import uvicorn
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.app import create_app
from api.reports import start_report
from api.scans import scan_workflow_id, start_scan
from core.secrets import encrypt
from db import runs, tenants
from db.pool import Database
from schemas.settings import Settings
from schemas.workflow_io import ReportResult, TenantScanResult
from workers import stack
from workers.schedules import ensure_for_database
from workers.worker import build_workers, connect_temporal, running

if TYPE_CHECKING:
    from sandbox.server import SandboxHandle

TENANT = "demo"


def say(msg: str) -> None:
    print(msg, flush=True)


async def _token(settings: Settings, db: object, role: str) -> str:
    """The demo's token of a role, reused across runs so a bookmarked curl keeps working (and replaced if the
    file holds a token that no longer works or has another role)."""
    path = settings.data_dir / f"demo-{role}-token"
    if path.exists():
        found = await tenants.lookup_token(db.pool, path.read_text().strip())  # type: ignore[attr-defined]
        if found and found["role"] == role:
            return path.read_text().strip()
    async with db.tenant(TENANT) as conn:  # type: ignore[attr-defined]
        token = await tenants.create_token(conn, TENANT, role, f"demo-{role}")
    path.write_text(token)
    path.chmod(0o600)
    return token


async def _progress(db: object, run_date: dt.date) -> str:
    """What the scan has written so far. Only a line to print: whether the run finished comes from its workflow,
    as a re-run of a date finds the first run's row already saying "completed"."""
    async with db.tenant(TENANT) as conn:  # type: ignore[attr-defined]
        run, done, drafts = await runs.progress(conn, run_date)
    if run is None:
        return "scan starting"
    return f"scan running: {done}/{run['due_count']} customers classified, {drafts} drafts"


async def todays_scan(
    client: Client, today: dt.date, tenant: str = TENANT
) -> tuple[WorkflowHandle[Any, TenantScanResult], bool]:
    """Today's scan run to wait on, and whether it was already there: a restarted demo attaches to a run that
    completed or is running instead of scanning the day again; a failed or ended one is started afresh."""
    wid = scan_workflow_id(tenant, today)
    try:
        found = await client.get_workflow_handle(wid).describe()
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        found = None
    attached = found is not None and found.status in (
        WorkflowExecutionStatus.COMPLETED,
        WorkflowExecutionStatus.RUNNING,
    )
    if not attached:
        await start_scan(client, tenant, today)
        found = await client.get_workflow_handle(wid).describe()
    assert found is not None
    return client.get_workflow_handle(wid, run_id=found.run_id, result_type=TenantScanResult), attached


async def _wait_for_scan(client: Client, db: object, today: dt.date, stop: asyncio.Event) -> bool:
    """Print the scan's progress until its run ends (True) or Ctrl-C (False)."""
    handle, attached = await todays_scan(client, today)
    how = "Attached to today's scan" if attached else "Scanning now"
    say(f"[6/7] {how}: workflow {handle.id} (run {handle.run_id})")
    result = asyncio.ensure_future(handle.result())
    stopped = asyncio.ensure_future(stop.wait())
    line = ""
    try:
        while not result.done() and not stop.is_set():
            await asyncio.wait({result, stopped}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            new_line = "" if result.done() else await _progress(db, today)
            if new_line and new_line != line:
                say("      " + new_line)
                line = new_line
        if not result.done():
            return False
        try:
            r = result.result()
        except WorkflowFailureError as e:
            say(f"      scan failed (run {handle.run_id}): {e.cause}")
            return True
        say(f"      scan completed (run {handle.run_id}): {r.due} customers, {r.drafts} drafts, routes {r.routes}")
        return True
    finally:
        result.cancel()
        stopped.cancel()


async def run_demo(settings: Settings, root: Path, *, customers: int, scan: bool, use_existing: bool = False) -> int:
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    today = dt.datetime.now(dt.UTC).date()
    cfg = stack.DevServerConfig.load(root / "temporal-dev.yaml").with_ports(settings)

    say(f"[1/7] Temporal dev server ({cfg.address}, UI on :{cfg.ui_port}, state in {data / cfg.db_filename})")
    # Not in a thread: a Ctrl-C or SIGTERM while it starts must not leave a server nobody holds.
    temporal_proc = stack.start_dev_server(cfg, data, use_existing=use_existing)
    try:
        return await _run(settings, data, today, cfg, customers=customers, scan=scan)
    finally:  # whatever happened (Ctrl-C and SIGTERM included), stop the server this command started
        if temporal_proc is not None:
            stack.stop_dev_server(temporal_proc, data)


async def _run(
    settings: Settings, data: Path, today: dt.date, cfg: stack.DevServerConfig, *, customers: int, scan: bool
) -> int:
    try:
        from sandbox.generate import generate_workspace
        from sandbox.server import start_sandbox
    except ImportError as e:  # an installed wheel: the sandbox stays in the source tree
        raise SystemExit(
            "the demo runs from a checkout of the source (its vendor sandbox is not in the installed package): "
            "`make demo` there"
        ) from e

    say(
        "[2/7] PostgreSQL "
        + ("(DATABASE_URL)" if settings.database_url else f"(embedded, {data / 'pg'})")
        + " and migrations"
    )
    from workers.cli import _database

    owner, db = await _database(settings)

    workspace = data / f"workspace-{today.isoformat()}-{customers}"
    if not (workspace / "manifest.json").exists():
        say(f"[3/7] Generating a sample workspace of {customers} customers in {workspace}")
        await asyncio.to_thread(generate_workspace, workspace, customers=customers, as_of=today, seed=7)
    else:
        say(f"[3/7] Sample workspace {workspace}")
    sandbox = await asyncio.to_thread(start_sandbox, workspace)
    smtp = stack.SmtpSink(settings.smtp_host, settings.smtp_port, outbox=data / "outbox").start()
    try:
        return await _serve(settings, data, today, cfg, owner, db, workspace, sandbox, scan=scan)
    finally:  # Ctrl-C, SIGTERM or an error: stop what this command started
        sandbox.stop()
        smtp.stop()
        await db.close()


async def _serve(
    settings: Settings,
    data: Path,
    today: dt.date,
    cfg: stack.DevServerConfig,
    owner: str,
    db: Database,
    workspace: Path,
    sandbox: SandboxHandle,
    *,
    scan: bool,
) -> int:
    from sandbox.product_db import QUERY as USAGE_QUERY
    from sandbox.product_db import load_usage

    keys = json.loads((workspace / "manifest.json").read_text())["keys"]
    say(
        f"      vendor sandbox {sandbox.base_url}, SMTP sink {settings.smtp_host}:{settings.smtp_port} "
        f"(messages in {data / 'outbox'})"
    )
    say(
        f"[4/7] Demo tenant '{TENANT}' connected to the sandbox's Stripe, HubSpot and Slack, and to a product "
        "database for usage"
    )
    conn = await asyncpg.connect(owner)
    try:
        await tenants.create_tenant(conn, TENANT, "Demo SaaS Inc.")
    finally:
        await conn.close()
    # A server of its own, as a tenant's product database is: the usage connector refuses the product's own.
    product_server = await asyncio.to_thread(stack.start_embedded_postgres, data / "product")
    product = await load_usage(product_server, workspace)
    async with db.tenant(TENANT) as tconn:
        await tenants.put_connector(
            tconn,
            TENANT,
            "stripe",
            encrypt(stack.secret_key(settings), keys["stripe"]),
            {"api_base": sandbox.stripe_api_base},
        )
        await tenants.put_connector(
            tconn, TENANT, "usage", encrypt(stack.secret_key(settings), product), {"query": USAGE_QUERY}
        )
        for kind, base in (("hubspot", sandbox.hubspot_host), ("slack", sandbox.slack_base_url)):
            await tenants.put_connector(
                tconn, TENANT, kind, encrypt(stack.secret_key(settings), keys[kind]), {"api_base": base}
            )
    operator = await _token(settings, db, "operator")
    admin = await _token(settings, db, "admin")

    client = await connect_temporal(cfg.address, cfg.namespace)
    schedules = await ensure_for_database(client, db)  # the demo's and any you added
    say(f"[5/7] Schedules: {', '.join(schedules)}; worker and API starting")
    app = create_app(db, client, secret_key=stack.secret_key(settings))
    # No lifespan: the app is handed its database and client, and Ctrl-C should not print a cancelled lifespan.
    api = uvicorn.Server(
        uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_level="warning", lifespan="off")
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    # The sandbox's Slack has no rate limit; real Slack allows about 50 history reads a minute (0.8/s).
    paced = settings.model_copy(update={"connector_rps": {"slack": 20.0} | settings.connector_rps})
    async with running(build_workers(client, db, paced, stack.secret_key(settings))):
        api_task = asyncio.create_task(api.serve())
        try:
            while not api.started:  # "Ready" means the API answers: wait for it to listen, or say why it cannot
                if api_task.done():
                    raise RuntimeError(
                        f"the API could not listen on {settings.api_host}:{settings.api_port}: choose another "
                        "with --api-port (or RENEWALS_API_PORT)"
                    )
                await asyncio.sleep(0.05)
            if scan and await _wait_for_scan(client, db, today, stop):
                await _briefing(client, today)
            base = f"http://{settings.api_host}:{settings.api_port}"
            ui = f"http://{cfg.ip}:{cfg.ui_port}/namespaces/{cfg.namespace}/workflows"
            if not stop.is_set():
                say(f"""[7/7] Ready.
      Inbox page    {base}/app/renewal_hunter/inbox   (paste the operator token)
      Operator token (role operator: the inbox, drafts, decisions, scans, reports)
                    {operator}
      Admin token   (role admin: settings, connectors, tokens, audit; keep it for those)
                    {admin}
      API docs      {base}/docs
      Drafts        curl -s -H 'Authorization: Bearer {operator}' {base}/v1/drafts
      Briefing      curl -s -H 'Authorization: Bearer {operator}' {base}/v1/reports/briefing/{today}
      Send one      curl -s -X POST -H 'Authorization: Bearer {operator}' {base}/v1/drafts/<id>/send
      Settings      curl -s -H 'Authorization: Bearer {admin}' {base}/v1/settings
      Temporal UI   {ui}?query=Tenant%3D%22{TENANT}%22
      Temporal CLI  {Path(sys.executable).parent / "temporal"} --address {cfg.address} workflow list
      Sent emails   {data / "outbox"}
      Ctrl-C (or SIGTERM) stops everything this command started.""")
            await stop.wait()
            say("stopping…")
        finally:
            api.should_exit = True
            await api_task
    return 0


async def _briefing(client: Client, today: dt.date) -> None:
    wid = await start_report(client, TENANT, "briefing", today)
    say(f"      Health briefing for every paying customer: workflow {wid}")
    try:
        r = await client.get_workflow_handle(wid, result_type=ReportResult).result()
        say(
            f"      {r.counts.hot} hot, {r.counts.warm} warm, {r.counts.cold} cold of {r.counts.accounts}; "
            f"posted to the sandbox's #fde (ts {r.slack_ts})"
            if r.counts
            else f"      {r}"
        )
    except WorkflowFailureError as e:
        say(f"      the briefing failed: {e.cause}")
