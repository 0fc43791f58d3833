"""What a killed stack leaves behind, reclaimed at the next start on the same data dir.

A SIGKILL (or an OOM kill, or a closed laptop) gives `renewals demo` / `renewals dev-server` no chance to stop what
they started: the Temporal dev server runs in its own session, and the embedded PostgreSQL is a daemon started by
pg_ctl, so both outlive the command. Left alone, the next start attaches to them and nobody ever stops them.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import psutil

log = logging.getLogger("renewals.stack")
TEMPORAL_PIDFILE = "temporal.pid"  # {"server": pid, "owner": pid of the renewals command that started it}
STOP_WAIT_S = 15.0


class DataDirInUse(RuntimeError):
    pass


def _alive(pid: int) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        return proc if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE else None
    except psutil.Error:
        return None


def stop_process(proc: psutil.Process, wait: float = STOP_WAIT_S) -> None:
    """SIGTERM, then SIGKILL if it has not gone within `wait` seconds."""
    try:
        proc.terminate()
        proc.wait(wait)
    except psutil.TimeoutExpired:
        proc.kill()
        proc.wait(wait)
    except psutil.NoSuchProcess:
        pass


def record_dev_server(data_dir: Path, server_pid: int) -> None:
    (data_dir / TEMPORAL_PIDFILE).write_text(json.dumps({"server": server_pid, "owner": os.getpid()}))


def forget_dev_server(data_dir: Path) -> None:
    (data_dir / TEMPORAL_PIDFILE).unlink(missing_ok=True)


def reclaim_dev_server(data_dir: Path, db_file: Path) -> int | None:
    """Stop the dev server a previous, dead command started on this data dir; its pid, or None if there was none.

    Refuses (DataDirInUse) while that command is still alive: two stacks on one data dir would share one
    Temporal database file. A pid reused by an unrelated process is recognised by its command line and left alone."""
    path = data_dir / TEMPORAL_PIDFILE
    try:
        recorded = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    owner = _alive(int(recorded.get("owner", 0)))
    if owner is not None and owner.pid != os.getpid():
        raise DataDirInUse(
            f"another renewals command (pid {owner.pid}) runs the Temporal dev server of {data_dir}: stop it "
            "(Ctrl-C, or kill it), or give this one its own data dir (--data-dir or RENEWALS_DATA_DIR)"
        )
    server = _alive(int(recorded.get("server", 0)))
    try:
        ours = server is not None and "start-dev" in server.cmdline() and str(db_file) in server.cmdline()
    except psutil.Error:
        ours = False
    if server is not None and ours:
        log.warning("stopping the Temporal dev server (pid %d) a killed run left on %s", server.pid, data_dir)
        stop_process(server)
    path.unlink(missing_ok=True)
    return server.pid if server is not None and ours else None


def prepare_embedded_postgres(pgdata: Path) -> None:
    """Make the embedded PostgreSQL of pgdata ours to stop at exit, whatever a killed run left.

    embedded_postgres stops the server when its last handle holder exits, counting holders in a pid list on disk;
    a holder killed with SIGKILL never takes itself off, so the server was never stopped again. Dead holders are
    dropped here (live ones, e.g. a `renewals api` beside the worker, still share it). A postmaster.pid naming a pid
    that now belongs to some other process would make it attach to nothing: that stale file is removed."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (FileNotFoundError, ValueError):
        pids = None
    if pids is not None:
        living = [p for p in pids if _alive(int(p)) is not None]
        if living != pids:
            log.warning(
                "embedded PostgreSQL %s: dropping handles of dead runs %s", pgdata, sorted(set(pids) - set(living))
            )
            handles.write_text(json.dumps(living))
    postmaster = pgdata / "postmaster.pid"
    try:
        pid = int(postmaster.read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return
    proc = _alive(pid)
    try:
        is_postgres = proc is not None and proc.name().startswith("postgres")
    except psutil.Error:
        is_postgres = False
    if proc is not None and not is_postgres:
        log.warning("embedded PostgreSQL %s: postmaster.pid names pid %d, now another process; removed", pgdata, pid)
        postmaster.unlink(missing_ok=True)
