"""The embedded stack as real processes: `renewals dev-server` / `renewals migrate` spawned on a temp data dir with
ports of their own, then stopped with SIGTERM or killed with SIGKILL, and what the next start does about it.

Issue #13 items 14-15: a second stack attached to the first one's Temporal server; SIGTERM left Temporal running;
after a SIGKILL the embedded PostgreSQL was never stopped again."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from workers.reclaim import DataDirInUse
from workers.stack import DevServerConfig, port_open, start_dev_server

RENEWALS = str(Path(sys.executable).parent / "renewals")
START_S = 90.0  # the dev server's start on a loaded 2-core machine


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.1)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def env(data_dir: Path) -> dict[str, str]:
    """This machine's environment without any stack settings the test runner may carry."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RENEWALS_") and k != "DATABASE_URL"}
    return clean | {"RENEWALS_DATA_DIR": str(data_dir)}


class Stack:
    """`renewals dev-server` on its own data dir and four free ports."""

    def __init__(self, data_dir: Path, ports: list[int]) -> None:
        self.data_dir, self.port, self.ports = data_dir, ports[0], ports
        names = ("--temporal-port", "--temporal-ui-port", "--temporal-http-port", "--temporal-metrics-port")
        self.flags = [x for name, port in zip(names, ports, strict=True) for x in (name, str(port))]
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, data_dir: Path | None = None) -> subprocess.Popen[bytes]:
        where = data_dir or self.data_dir
        proc = subprocess.Popen(
            [RENEWALS, "dev-server", "--data-dir", str(where), *self.flags],
            env=env(where),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def config(self) -> DevServerConfig:
        ports = dict(zip(("port", "ui_port", "http_port", "metrics_port"), self.ports, strict=True))
        return dataclasses.replace(DevServerConfig.load(Path(__file__).parent.parent / "temporal-dev.yaml"), **ports)

    def server_pid(self) -> int:
        return int(json.loads((self.data_dir / "temporal.pid").read_text())["server"])

    def started(self, proc: subprocess.Popen[bytes]) -> int:
        """Wait until the command's dev server answers; its pid."""
        until(
            lambda: proc.poll() is not None or (port_open("127.0.0.1", self.port) and self.pid_recorded_by(proc)),
            START_S,
            "the dev server answers",
        )
        assert proc.poll() is None, proc.communicate()[0].decode()
        return self.server_pid()

    def pid_recorded_by(self, proc: subprocess.Popen[bytes]) -> bool:
        try:
            return json.loads((self.data_dir / "temporal.pid").read_text())["owner"] == proc.pid
        except (FileNotFoundError, ValueError):
            return False


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory of our own under /tmp rather than pytest's tmp_path: several test sessions share this machine,
    and each one's pytest prunes all but the newest three session directories, whoever's they are."""
    path = Path(tempfile.mkdtemp(prefix="renewals-stack-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stack(scratch: Path) -> Iterator[Stack]:
    s = Stack(scratch / "a", free_ports(4))
    yield s
    for proc in s.procs:  # a failed test still stops what it started
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    if (s.data_dir / "temporal.pid").exists() and not gone(s.server_pid()):
        psutil.Process(s.server_pid()).kill()


def test_sigterm_to_dev_server_stops_temporal_as_ctrl_c_does(stack: Stack) -> None:
    proc = stack.start()
    server = stack.started(proc)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 0, out
    until(lambda: gone(server), 10, "the Temporal process is gone")
    assert not port_open("127.0.0.1", stack.port) and not (stack.data_dir / "temporal.pid").exists()


def test_a_live_dev_server_of_the_same_data_dir_is_shared_only_when_asked(stack: Stack) -> None:
    """`renewals dev-server` in one terminal, the demo in another on the same data dir: refused, unless it is told to
    use the existing server (then it attaches and starts nothing)."""
    server = stack.started(stack.start())
    with pytest.raises(DataDirInUse, match="--data-dir"):
        start_dev_server(stack.config(), stack.data_dir)
    assert start_dev_server(stack.config(), stack.data_dir, use_existing=True) is None
    assert not gone(server) and stack.server_pid() == server


def test_a_dev_server_left_by_a_sigkill_is_reclaimed_and_another_stacks_is_refused(stack: Stack, scratch: Path) -> None:
    killed = stack.start()
    orphan = stack.started(killed)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=10)
    assert not gone(orphan), "the dev server runs in its own session: it outlives a SIGKILL of its command"

    # Another stack (its own data dir) on the same ports: refused, with what to do; the orphan is not its to stop.
    other = stack.start(scratch / "b")
    out = other.communicate(timeout=60)[0].decode()
    assert other.returncode == 1 and "--use-existing-temporal" in out and "--temporal-port" in out, out
    assert not gone(orphan)

    # The same data dir again: the orphan is stopped and a server of its own started.
    again = stack.start()
    fresh = stack.started(again)
    assert fresh != orphan and gone(orphan)
    again.send_signal(signal.SIGTERM)
    again.communicate(timeout=30)
    assert again.returncode == 0
    until(lambda: gone(fresh), 10, "the reclaiming run's server is gone after SIGTERM")


def test_an_embedded_postgres_whose_holder_was_killed_is_stopped_by_the_next_run(scratch: Path) -> None:
    data = scratch / "pg-stack"
    holder = subprocess.Popen(  # a stack that started the embedded PostgreSQL, then is killed
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from workers.stack import start_embedded_postgres; "
            "print(start_embedded_postgres(Path(sys.argv[1])), flush=True); time.sleep(600)",
            str(data),
        ],
        env=env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parent.parent,
    )
    try:
        assert holder.stdout is not None and b"postgresql://" in holder.stdout.readline()
        pidfile = (data / "pg" / "postmaster.pid").read_text()
        postmaster = int(pidfile.split("\n", 1)[0])
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=10)
    assert not gone(postmaster), "pg_ctl's server is a daemon: it outlives its holder"

    run = subprocess.run([RENEWALS, "migrate"], env=env(data), capture_output=True, timeout=120)
    assert run.returncode == 0, run.stdout.decode() + run.stderr.decode()
    # It attached to the running server and, now its only living holder, stopped it at exit.
    until(lambda: gone(postmaster), 20, "the stale embedded PostgreSQL is stopped")

    # A postmaster.pid left by a server killed with the machine, whose pid now belongs to another process: taken
    # for a running server, it was attached to (nothing answers on its socket), and that process killed at exit.
    bystander = subprocess.Popen(["sleep", "600"])
    try:
        (data / "pg" / "postmaster.pid").write_text(f"{bystander.pid}\n" + pidfile.split("\n", 1)[1])
        run = subprocess.run([RENEWALS, "migrate"], env=env(data), capture_output=True, timeout=120)
        assert run.returncode == 0 and b"up to date" in run.stdout, run.stdout.decode() + run.stderr.decode()
        assert bystander.poll() is None, "an unrelated process was killed as if it were PostgreSQL"
        assert not (data / "pg" / "postmaster.pid").exists()  # and it stopped the server it started, at exit
    finally:
        bystander.kill()
        bystander.wait()


def test_sigterm_to_the_demo_stops_temporal_and_postgres(scratch: Path) -> None:
    """The whole demo (no scan, a small workspace) on its own ports: SIGTERM once it is ready, and nothing it started
    is left running."""
    data = scratch / "demo"
    temporal, ui, http, metrics, api, smtp = free_ports(6)
    flags = {"temporal": temporal, "temporal-ui": ui, "temporal-http": http, "temporal-metrics": metrics}
    flags |= {"api": api, "smtp": smtp}
    proc = subprocess.Popen(
        # As `make demo` runs it: from the checkout, whose sandbox is not in the installed package.
        [sys.executable, "-m", "workers.cli", "demo", "--no-scan", "--customers", "20", "--data-dir", str(data)]
        + [x for name, port in flags.items() for x in (f"--{name}-port", str(port))],
        env=env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parent.parent,
    )
    assert proc.stdout is not None
    lines = []
    try:
        for raw in proc.stdout:  # the demo prints as it goes; "[7/7] Ready." once everything is up
            lines.append(raw.decode())
            if "[7/7] Ready." in lines[-1]:
                break
        assert "[7/7] Ready." in lines[-1], "".join(lines)
        server = int(json.loads((data / "temporal.pid").read_text())["server"])
        postmaster = int((data / "pg" / "postmaster.pid").read_text().split("\n", 1)[0])
        assert port_open("127.0.0.1", api) and port_open("127.0.0.1", smtp)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)  # it prints a few lines after Ready: the pipe cannot fill up
        rest = proc.stdout.read().decode()  # what the loop above had buffered, too
        proc.stdout.close()
    assert proc.returncode == 0, "".join(lines) + rest
    until(lambda: gone(server) and gone(postmaster), 20, "the demo's Temporal and PostgreSQL are stopped")
    assert not any(port_open("127.0.0.1", p) for p in (temporal, api, smtp))
    printed = "".join(lines) + rest
    assert "Operator token (role operator" in printed and "Admin token   (role admin" in printed
