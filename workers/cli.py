"""`renewals`: the command line. demo, worker, api, scan, migrate, and the admin commands."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import asyncpg

from core.clock import check_day
from core.secrets import encrypt
from db import tenants
from db.migrate import migrate
from db.pool import Database, app_dsn
from schemas.settings import Settings, get_settings
from workers import production, stack

ROOT = Path(__file__).resolve().parents[1]


def say(msg: str) -> None:
    print(msg, flush=True)


async def _database(settings: Settings, *, command_timeout: float | None = None) -> tuple[str, Database]:
    """The application's pool, as renewals_app. Development migrates first; production never does (workers.production:
    only `renewals migrate` does) and checks the schema and the role instead."""
    if production.production(settings):
        owner = production.require_database_url(settings)
        dsn = await production.check_app_database(settings)
    else:
        owner = await stack.owner_dsn(settings)
        await migrate(owner, settings.app_db_password)
        dsn = app_dsn(owner, settings.app_db_password)
    return owner, await Database.connect(
        dsn,
        acquire_timeout=settings.db_acquire_timeout,
        command_timeout=command_timeout or settings.worker_db_command_timeout,
    )


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    owner = await stack.owner_dsn(settings)
    applied = await migrate(owner, settings.app_db_password)
    say(f"migrations applied: {', '.join(applied) or 'none (up to date)'}")
    return 0


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.schedules import ensure_for_database
    from workers.worker import build_workers, connect_temporal, running

    _, db = await _database(settings)
    client = await connect_temporal(
        settings.temporal_address, settings.temporal_namespace, settings.worker_metrics_bind
    )
    # The Schedules are kept by the processes that poll the main queue (their workflows run there), not by every
    # connector or email replica.
    if not args.no_schedules and (not settings.worker_queues or "main" in settings.worker_queues):
        made = await ensure_for_database(client, db)
        say(f"schedules: {', '.join(made)}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(build_workers(client, db, settings, stack.secret_key(settings))):
        groups = ", ".join(settings.worker_queues) or "all queues"
        say(f"worker ({groups}) running against {settings.temporal_address}; Ctrl-C to stop")
        await stop.wait()
    await db.close()
    return 0


async def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from api.metrics import metrics_app
    from schemas.settings import split_bind
    from workers.worker import connect_temporal

    if production.production(settings):  # refuse before serving, not in the middle of the app's start-up
        await production.check_app_database(settings)
    connected = asyncio.Event()

    async def connect() -> tuple[Database, object]:
        _, db = await _database(settings, command_timeout=settings.db_command_timeout)
        client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
        connected.set()
        return db, client

    app = create_app(
        connect=connect,
        secret_key=stack.secret_key(settings),  # type: ignore[arg-type]
        metrics_token=settings.metrics_token,
        api_base_hosts=settings.api_base_hosts(),
        max_body_bytes=settings.max_body_bytes,
        usage_max_body_bytes=settings.usage_max_body_bytes,
        serve_metrics=settings.metrics_bind is None,
    )
    servers = [uvicorn.Server(uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_level="info"))]

    async def serve(server: uvicorn.Server) -> None:
        await server.serve()
        for other in servers:  # only one of them receives Ctrl-C: one stopping stops both
            other.should_exit = True

    api = asyncio.create_task(serve(servers[0]))
    if settings.metrics_bind:
        # Only once the API has connected to PostgreSQL: the metrics app reads the API's database handle.
        ready = asyncio.create_task(connected.wait())
        await asyncio.wait([api, ready], return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        host, port = split_bind(settings.metrics_bind)
        servers.append(uvicorn.Server(uvicorn.Config(metrics_app(app), host=host, port=port, log_level="warning")))
        if not api.done():
            say(f"/metrics on http://{settings.metrics_bind}/metrics only")
            await serve(servers[1])
    await api
    return 0


async def cmd_scan(args: argparse.Namespace, settings: Settings) -> int:
    from api.scans import start_scan
    from workers.worker import connect_temporal

    client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
    day = args.date or dt.datetime.now(dt.UTC).date()
    wid = await start_scan(client, args.tenant, day)
    say(f"scan started: {wid}")
    if args.wait:
        result = await client.get_workflow_handle(wid).result()
        say(f"done: {result}")
    return 0


async def cmd_tenant(args: argparse.Namespace, settings: Settings) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        say(f"unknown time zone {args.timezone!r}: use an IANA name such as Europe/Berlin or America/New_York")
        return 2
    owner = await stack.owner_dsn(settings)
    await migrate(owner, settings.app_db_password)
    conn = await asyncpg.connect(owner)
    try:
        await tenants.create_tenant(conn, args.id, args.name or args.id, args.timezone)
    finally:
        await conn.close()
    say(
        f"tenant {args.id} ready; its health briefing (weekdays 07:00 {args.timezone}) and weekly digest "
        "(Mondays 12:00 UTC) are scheduled when the worker starts"
    )
    return 0


async def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from api.reports import default_day, start_report
    from core.clock import UnknownTimeZone
    from workers.worker import connect_temporal

    if args.date:
        day = args.date
    else:
        _, db = await _database(settings)
        try:
            day = await default_day(db, args.tenant, args.kind)
        except LookupError as e:
            say(f"{e}: create it first with `renewals tenant create {args.tenant}`")
            return 2
        except UnknownTimeZone as e:
            say(f"{args.tenant}'s time zone {e} is not an IANA name: give --date YYYY-MM-DD")
            return 2
        finally:
            await db.close()
    client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
    wid = await start_report(client, args.tenant, args.kind, day)
    say(f"{args.kind} started: {wid}")
    if args.wait:
        say(f"done: {await client.get_workflow_handle(wid).result()}")
    return 0


async def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    _, db = await _database(settings)
    async with db.tenant(args.tenant) as conn:
        if not await tenants.exists(conn, args.tenant):
            say(f"no tenant {args.tenant}: create it first with `renewals tenant create {args.tenant}`")
            return 2
        token = await tenants.create_token(conn, args.tenant, args.role, args.name)
    say(token)
    return 0


async def cmd_connect(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.stripe import StripeSource

    if args.kind != "stripe":
        say(f"connecting {args.kind} from the command line is not supported yet")
        return 2
    try:
        await StripeSource(args.key, args.api_base).check()  # one read call: refuse a bad key before storing it
    except Exception as e:  # noqa: BLE001 - the message is the product here
        say(f"stripe refused the key, nothing stored: {e}")
        return 1
    _, db = await _database(settings)
    async with db.tenant(args.tenant) as conn:
        await tenants.put_connector(
            conn, args.tenant, "stripe", encrypt(stack.secret_key(settings), args.key), {"api_base": args.api_base}
        )
        await tenants.audit(conn, args.tenant, "cli", "connector.connected", "stripe")
    say(f"stripe connected for {args.tenant}")
    return 0


def cmd_dev_server(args: argparse.Namespace, settings: Settings) -> int:
    cfg = stack.DevServerConfig.load(ROOT / "temporal-dev.yaml").with_ports(settings)
    # SIGTERM (systemd, docker stop, kill) is Ctrl-C here: the server this command started is stopped either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        proc = stack.start_dev_server(cfg, settings.data_dir)
    except KeyboardInterrupt:
        return 0
    if proc is None:  # not reached: only use_existing returns None
        return 0
    say(f"Temporal dev server on {cfg.address}, UI http://{cfg.ip}:{cfg.ui_port} (pid {proc.pid}); Ctrl-C stops it")
    try:
        proc.wait()
    except KeyboardInterrupt:
        say("stopping the Temporal dev server…")
    finally:
        stack.stop_dev_server(proc, settings.data_dir)
    return 0


def run_async(work: Coroutine[Any, Any, int]) -> int:
    """asyncio.run, with SIGTERM handled as Ctrl-C is: the main task is cancelled, so every `finally` runs (the
    demo stops its dev server, workers and API; atexit then stops the embedded PostgreSQL)."""

    async def main() -> int:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await work

    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        say("stopped")
        return 0


# The ports and data dir of the stack `demo` and `dev-server` start: each flag sets the setting of its name.
STACK_FLAGS = (
    "data_dir",
    "temporal_port",
    "temporal_ui_port",
    "temporal_http_port",
    "temporal_metrics_port",
    "api_port",
    "smtp_port",
    "worker_queues",  # `renewals worker --queues main,stripe`
)


def with_flags(args: argparse.Namespace) -> Settings:
    """The settings, with the command's flags over the environment (a flag given wins over RENEWALS_*)."""
    given = {f: getattr(args, f) for f in STACK_FLAGS if getattr(args, f, None) is not None}
    return Settings(**given) if given else get_settings()


def stack_flags(p: argparse.ArgumentParser, *, demo: bool) -> None:
    p.add_argument("--data-dir", type=Path, help="state directory (default .renewals; RENEWALS_DATA_DIR)")
    for name in ("temporal", "temporal-ui", "temporal-http", "temporal-metrics"):
        p.add_argument(
            f"--{name}-port",
            type=int,
            help=f"default: temporal-dev.yaml (RENEWALS_{name.upper().replace('-', '_')}_PORT)",
        )
    if demo:
        p.add_argument("--api-port", type=int, help="default 8000 (RENEWALS_API_PORT)")
        p.add_argument("--smtp-port", type=int, help="the SMTP sink's; default 1025 (RENEWALS_SMTP_PORT)")
        p.add_argument(
            "--use-existing-temporal",
            action="store_true",
            help="attach to a Temporal server already answering on the port (its Schedules and workflows are shared)",
        )


def day_arg(text: str) -> dt.date:
    """--date: an ISO date within core.clock's window around today; argparse prints the reason and exits 2."""
    try:
        return check_day(dt.date.fromisoformat(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="renewals", description="Renewal Manager")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="start everything, seed a demo tenant, run a scan, stay up until Ctrl-C")
    d.add_argument("--customers", type=int, default=500)
    d.add_argument("--no-scan", action="store_true")
    stack_flags(d, demo=True)
    w = sub.add_parser("worker", help="run the Temporal workers")
    w.add_argument("--no-schedules", action="store_true", help="do not create, update or delete the Schedules")
    w.add_argument(
        "--queues",
        dest="worker_queues",
        help="comma-separated queue groups to poll: main, stripe, hubspot, salesforce, slack, email "
        "(default all; RENEWALS_WORKER_QUEUES)",
    )
    sub.add_parser("api", help="run the REST API")
    sub.add_parser("migrate", help="apply database migrations")
    stack_flags(sub.add_parser("dev-server", help="run the Temporal dev server from temporal-dev.yaml"), demo=False)
    s = sub.add_parser("scan", help="scan a tenant now")
    s.add_argument("--tenant", required=True)
    s.add_argument("--date", type=day_arg, help="YYYY-MM-DD (default: today, UTC)")
    s.add_argument("--wait", action="store_true")
    r = sub.add_parser("report", help="compose and post a health briefing or weekly digest now")
    r.add_argument("kind", choices=["briefing", "digest"])
    r.add_argument("--tenant", required=True)
    r.add_argument(
        "--date", type=day_arg, help="YYYY-MM-DD (default: today in the tenant's time zone; a digest's, UTC)"
    )
    r.add_argument("--wait", action="store_true")
    t = sub.add_parser("tenant", help="tenants").add_subparsers(dest="action", required=True).add_parser("create")
    t.add_argument("id")
    t.add_argument("--name")
    t.add_argument("--timezone", default="UTC")
    k = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True).add_parser("create")
    k.add_argument("--tenant", required=True)
    k.add_argument("--role", choices=["operator", "admin"], default="operator")
    k.add_argument("--name", default="operator")
    c = sub.add_parser("connect", help="connect a source")
    c.add_argument("kind", choices=["stripe"])
    c.add_argument("--tenant", required=True)
    c.add_argument("--key", required=True)
    c.add_argument("--api-base", default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = with_flags(args)
    except ValueError as e:
        say(f"configuration error: {e}")
        return 2
    try:
        if args.command == "dev-server":
            return cmd_dev_server(args, settings)
        if args.command == "demo":
            from workers.demo import run_demo

            return run_async(
                run_demo(
                    settings,
                    ROOT,
                    customers=args.customers,
                    scan=not args.no_scan,
                    use_existing=args.use_existing_temporal,
                )
            )
    except RuntimeError as e:
        say(f"error: {e}")
        return 1
    handler = {
        "worker": cmd_worker,
        "api": cmd_api,
        "migrate": cmd_migrate,
        "scan": cmd_scan,
        "report": cmd_report,
        "tenant": cmd_tenant,
        "token": cmd_token,
        "connect": cmd_connect,
    }[args.command]
    try:
        if args.command in ("api", "worker"):
            # The long-running processes on uvloop's event loop: `asyncio.run` always made the standard one, so
            # uvloop (a dependency for this) was never used. Under bench.api_load the loop's own work is a large
            # share of the API's CPU per request (issue 17).
            import uvloop

            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(handler(args, settings))
        return asyncio.run(handler(args, settings))
    except RuntimeError as e:
        say(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
