"""`renewals demo`: the whole stack on one machine, a demo tenant from a sample workspace, a scan at once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import signal
from pathlib import Path

import asyncpg
import uvicorn
from temporalio.client import WorkflowFailureError

from api.app import create_app
from api.reports import start_report
from api.scans import start_scan
from core.secrets import encrypt
from db import tenants
from schemas.settings import Settings
from schemas.workflow_io import ReportResult
from workers import stack
from workers.schedules import active_tenant_zones, ensure_schedules
from workers.worker import build_workers, connect_temporal, running

TENANT = "demo"


def say(msg: str) -> None:
    print(msg, flush=True)


async def _token(settings: Settings, db: object) -> str:
    """Reuse the demo operator token across runs, so a bookmarked curl keeps working."""
    path = settings.data_dir / "demo-token"
    if path.exists() and await tenants.lookup_token(db.pool, path.read_text().strip()):  # type: ignore[attr-defined]
        return path.read_text().strip()
    async with db.tenant(TENANT) as conn:  # type: ignore[attr-defined]
        token = await tenants.create_token(conn, TENANT, "admin", "demo-operator")
    path.write_text(token)
    path.chmod(0o600)
    return token


async def _progress(db: object, run_date: dt.date) -> tuple[str, str]:
    async with db.tenant(TENANT) as conn:  # type: ignore[attr-defined]
        run = await conn.fetchrow("select status, due_count, error from scan_runs where run_date = $1", run_date)
        done = await conn.fetchval("select count(*) from classifications where run_date = $1", run_date)
        drafts = await conn.fetchval("select count(*) from drafts where run_date = $1", run_date)
    if run is None:
        return "starting", "scan starting"
    return run["status"], (
        f"scan {run['status']}: {done}/{run['due_count']} customers classified, {drafts} drafts"
        + (f" — {run['error']}" if run["error"] else "")
    )


async def run_demo(settings: Settings, root: Path, *, customers: int, scan: bool) -> int:

    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    today = dt.datetime.now(dt.UTC).date()
    cfg = stack.DevServerConfig.load(root / "temporal-dev.yaml")

    say(f"[1/7] Temporal dev server ({cfg.address}, UI on :{cfg.ui_port}, state in {data / cfg.db_filename})")
    temporal_proc = await asyncio.to_thread(stack.start_dev_server, cfg, data)
    try:
        return await _run(settings, data, today, cfg, customers=customers, scan=scan)
    finally:  # whatever happened, stop the server this command started
        if temporal_proc is not None:
            temporal_proc.terminate()
            await asyncio.to_thread(temporal_proc.wait)


async def _run(
    settings: Settings, data: Path, today: dt.date, cfg: stack.DevServerConfig, *, customers: int, scan: bool
) -> int:
    from sandbox.generate import generate_workspace
    from sandbox.product_db import QUERY as USAGE_QUERY
    from sandbox.product_db import load_usage
    from sandbox.server import start_sandbox

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
    keys = json.loads((workspace / "manifest.json").read_text())["keys"]
    smtp = stack.SmtpSink(settings.smtp_host, settings.smtp_port, outbox=data / "outbox").start()
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
    token = await _token(settings, db)

    client = await connect_temporal(cfg.address, cfg.namespace)
    schedules = await ensure_schedules(client, await active_tenant_zones(db))  # the demo's and any you added
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
        if scan:
            wid = await start_scan(client, TENANT, today)
            say(f"[6/7] Scanning now: workflow {wid}")
            status, line = "starting", ""
            while status not in ("completed", "failed") and not stop.is_set():
                status, new_line = await _progress(db, today)
                if new_line != line:
                    say("      " + new_line)
                    line = new_line
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
            if not stop.is_set():
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
        base = f"http://{settings.api_host}:{settings.api_port}"
        ui = f"http://{cfg.ip}:{cfg.ui_port}/namespaces/{cfg.namespace}/workflows"
        say(f"""[7/7] Ready.
      Inbox page    {base}/app/renewal_hunter/inbox   (paste the token below)
      API docs      {base}/docs
      Drafts        curl -s -H 'Authorization: Bearer {token}' {base}/v1/drafts
      Briefing      curl -s -H 'Authorization: Bearer {token}' {base}/v1/reports/briefing/{today}
      Send one      curl -s -X POST -H 'Authorization: Bearer {token}' {base}/v1/drafts/<id>/send
      Temporal UI   {ui}?query=Tenant%3D%22{TENANT}%22
      Sent emails   {data / "outbox"}
      Ctrl-C stops everything this command started.""")
        await stop.wait()
        say("stopping…")
        api.should_exit = True
        await api_task
    sandbox.stop()
    smtp.stop()
    await db.close()
    return 0
