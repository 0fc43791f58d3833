"""Chaos scenarios for sending and for running the stack (issue 13, items 11, 13, 14 and 15): a worker killed while
the mail server stalls, edits racing sends, a second stack beside the first, and signals to `renewals dev-server`.
The sends go through the real API (in this process, on the run's database and Temporal) to the worker process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from temporalio.service import RPCError

from api.app import create_app
from bench.chaos import APP_PASSWORD, ChaosStack, Row, scenario
from bench.chaos_scan import poll
from db import tenants
from db.migrate import ensure_database, migrate
from db.pool import Database, app_dsn
from schemas import search
from schemas.ids import briefing_schedule, digest_schedule
from tests import factories
from tests.faults_security import serve
from tests.test_stack import RENEWALS, Stack, env, free_ports, gone
from workers.schedules import DAILY_ID, ensure_for_database
from workers.stack import port_open

GOOD_MORNING = "Good morning,"


@contextlib.asynccontextmanager
async def operator_api(stack: ChaosStack, tid: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real API on a loopback port, on the run's database and Temporal; a client with an operator's token."""
    server, task, url = await serve(create_app(stack.db, stack.client))
    token = await factories.token(stack.db, tid, "operator", "chaos")
    try:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as h:
            yield h
    finally:
        server.should_exit = True
        await task


async def sendable_tenant(stack: ChaosStack) -> str:
    tid = await stack.tenant()
    async with stack.db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set undo_window_seconds = 0")  # deliver at once
    return tid


async def status(h: httpx.AsyncClient, draft_id: str) -> str:
    return str((await h.get(f"/v1/drafts/{draft_id}")).json()["status"])


def emails(stack: ChaosStack, draft_id: str) -> list[str]:
    return [factories.plain_text(m) for m in stack.smtp.messages if m["X-Renewals-Draft"] == draft_id]


@scenario
async def worker_killed_while_smtp_stalls(stack: ChaosStack) -> Row:
    """13.11: one send stalls after the message was taken (it may have gone out), one before any message (nothing
    could have). The worker is SIGKILLed meanwhile; the next worker's retry must tell the two apart."""
    tid = await sendable_tenant(stack)
    mid_data, before_data = [await factories.waiting_draft(stack.db, stack.client, tid) for _ in range(2)]
    stack.smtp.stall(mid_data.to_email, "DATA")
    stack.smtp.stall(before_data.to_email, "RCPT")
    seen: dict[str, Any] = {}
    async with operator_api(stack, tid) as h:
        for d in (mid_data, before_data):
            seen[f"send {d.id}"] = (await h.post(f"/v1/drafts/{d.id}/send")).status_code
        both_held = await poll(lambda: _held(stack, 2), within=120)
        stack.kill_worker()
        stack.smtp.release()
        stack.start_worker()
        # The killed attempts run out their 1 min start-to-close; the new worker's retry reads the email ledger.
        uncertain = await poll(lambda: _is(h, mid_data.id, "delivery_uncertain"), within=300, interval=1)
        retried = await poll(lambda: _is(h, before_data.id, "sent"), within=300, interval=1)
        shown = (await h.get(f"/v1/drafts/{mid_data.id}")).json()
        listed = [x["id"] for x in (await h.get("/v1/drafts", params={"status": "delivery_uncertain"})).json()["items"]]
        described = await stack.client.get_workflow_handle(mid_data.workflow_id).describe()
        attribute = described.typed_search_attributes.get(search.DRAFT_STATUS)
        metrics = f'renewals_drafts{{status="delivery_uncertain",tenant="{tid}"}} 1.0' in (await h.get("/metrics")).text
        refused = (await h.post(f"/v1/drafts/{mid_data.id}/send")).status_code
        resolved = await h.post(f"/v1/drafts/{mid_data.id}/resolve", json={"outcome": "delivered"})
        after = await status(h, mid_data.id)
    sent = {d.id: len(emails(stack, d.id)) for d in (mid_data, before_data)}
    visible = bool(uncertain) and mid_data.id in listed and attribute == "delivery_uncertain" and metrics
    lost = sum(max(n - 1, 0) for n in sent.values()) + (sent[before_data.id] == 0) + (after != "sent")
    return Row(
        "worker SIGKILL while SMTP stalls (13.11)",
        "mid-DATA: delivery_uncertain on draft, filter, search attribute, metrics, resolved by an operator; "
        "before DATA: retried and sent; never two emails",
        f"held {len(set(stack.smtp.held))}/2; mid-DATA {'uncertain' if uncertain else 'NOT uncertain'} (listed "
        f"{mid_data.id in listed}, attribute {attribute}, metrics {metrics}), Send {refused}, resolve "
        f"{resolved.status_code} -> {after}; before-DATA {'sent' if retried else 'NOT sent'}; emails {sent}",
        lost=int(lost),
        ok=bool(both_held) and visible and refused == 409 and bool(retried) and "resolve" in shown["delivery_note"],
        detail=seen | {"emails": sent, "note": shown["delivery_note"]},
    )


async def _held(stack: ChaosStack, n: int) -> bool:
    return len(set(stack.smtp.held)) >= n


async def _is(h: httpx.AsyncClient, draft_id: str, wanted: str) -> bool:
    return await status(h, draft_id) == wanted


@scenario
async def edits_race_sends(stack: ChaosStack) -> Row:
    """13.13: an edit and a send posted together, many times. Serialized, each email is what its send decided: the
    edit's text exactly when the edit was accepted. An edit that changes nothing says so."""
    tid = await sendable_tenant(stack)
    drafts = [await factories.waiting_draft(stack.db, stack.client, tid) for _ in range(4 if stack.short else 12)]
    outcomes: dict[str, int] = {}
    refusals: list[str] = []
    wrong = 0
    async with operator_api(stack, tid) as h:
        first = drafts[0]
        same = await h.post(f"/v1/drafts/{first.id}/edit", json={"subject": first.subject, "body": first.template_body})
        unchanged = same.status_code == 200 and same.json()["outcome"] == "unchanged"
        for d in drafts:
            body = d.template_body.replace("Hello {{customer_name}} team,", GOOD_MORNING)
            edit, send = await asyncio.gather(
                h.post(f"/v1/drafts/{d.id}/edit", json={"subject": d.subject, "body": body}),
                h.post(f"/v1/drafts/{d.id}/send"),
            )
            key = f"edit {edit.status_code} send {send.status_code}"
            outcomes[key] = outcomes.get(key, 0) + 1
            if send.status_code == 409 and edit.status_code == 200:  # the edit landed first: send what it says
                send = await h.post(f"/v1/drafts/{d.id}/send")
            if send.status_code != 200:
                wrong += 1  # a decision lost: neither sent nor refused for a reason the operator can act on
                refusals.append(send.text[:300])
                continue
            await poll(lambda d=d: _is(h, d.id, "sent"), within=120, interval=0.5)
            got = emails(stack, d.id)
            edited = edit.status_code == 200
            wrong += len(got) != 1 or any((GOOD_MORNING in text) != edited for text in got)
    return Row(
        "edit and send posted together (13.13)",
        "serialized: each email is the version its send decided, once; an unchanged edit says 'unchanged'",
        f"{len(drafts)} races: {', '.join(f'{k} x{n}' for k, n in sorted(outcomes.items()))}; "
        f"{wrong} emails wrong or missing; unchanged edit said {same.json().get('outcome')}",
        lost=wrong,
        ok=unchanged and wrong == 0,
        detail={"outcomes": outcomes, "refusals": refusals},
    )


@scenario
async def second_stack_beside_the_first(stack: ChaosStack) -> Row:
    """13.14: a second stack refuses the first one's Temporal server instead of joining it, and a worker of another
    database starting on the same Temporal server deletes none of the first stack's Schedules."""
    scratch = Path(tempfile.mkdtemp(prefix="renewals-chaos-ops-", dir=stack.work))
    first = Stack(scratch / "a", free_ports(4))
    try:
        server = await asyncio.to_thread(first.started, first.start())
        second = first.start(scratch / "b")  # its own data dir, the same ports
        out = (await asyncio.to_thread(second.communicate, timeout=120))[0].decode()
        refused = second.returncode == 1 and "--use-existing-temporal" in out
        survived = not gone(server) and port_open("127.0.0.1", first.port)
    finally:
        await asyncio.to_thread(_stop_all, first)

    ours = await ensure_for_database(stack.client, stack.db)  # the first stack's worker start
    other_dsn = await ensure_database(stack.pg.uri, f"chaos_second_{uuid.uuid4().hex[:6]}")
    await migrate(other_dsn, APP_PASSWORD)
    stranger = f"second-{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(other_dsn)
    try:
        await tenants.create_tenant(owner, stranger, "Second stack")
    finally:
        await owner.close()
    other = await Database.connect(app_dsn(other_dsn, APP_PASSWORD))
    try:
        theirs = await ensure_for_database(stack.client, other)  # the second stack's worker start, same Temporal
    finally:
        await other.close()
    deleted = [sid for sid in ours if not await _exists(stack, sid)]
    for sid in {*ours, *theirs, DAILY_ID, briefing_schedule(stranger), digest_schedule(stranger)}:
        with contextlib.suppress(RPCError):  # no Schedule may fire during the rest of the run
            await stack.client.get_schedule_handle(sid).delete()
    return Row(
        "a second stack beside the first (13.14)",
        "refuses the first one's Temporal server; deletes none of its Schedules",
        f"second dev-server {'refused' if refused else 'NOT refused'} (exit {second.returncode}), first's server "
        f"{'still up' if survived else 'GONE'}; after the other database's worker start {len(ours) - len(deleted)}/"
        f"{len(ours)} of the first's Schedules remain",
        lost=len(deleted) + (not survived),
        ok=refused and survived,
        detail={"deleted": deleted, "output": out[-500:]},
    )


async def _exists(stack: ChaosStack, schedule_id: str) -> bool:
    try:
        await stack.client.get_schedule_handle(schedule_id).describe()
        return True
    except RPCError:
        return False


def _stop_all(s: Stack) -> None:
    for proc in s.procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=30)


@scenario
async def dev_server_signals(stack: ChaosStack) -> Row:
    """13.15: SIGTERM to `renewals dev-server` stops Temporal as Ctrl-C does; after a SIGKILL, the next start of the
    same data dir reclaims the orphaned server, and the next `renewals migrate` stops an embedded PostgreSQL whose
    holder was killed."""
    return await asyncio.to_thread(_dev_server_signals, Path(tempfile.mkdtemp(prefix="renewals-ops-", dir=stack.work)))


def _dev_server_signals(scratch: Path) -> Row:
    s = Stack(scratch / "a", free_ports(4))
    left: list[str] = []
    try:
        proc = s.start()
        server = s.started(proc)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        _wait(lambda: gone(server), 10)
        if not gone(server) or port_open("127.0.0.1", s.port):
            left.append(f"temporal {server} after SIGTERM")

        killed = s.start()
        orphan = s.started(killed)
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=10)
        again = s.start()
        fresh = s.started(again)
        _wait(lambda: gone(orphan), 10)
        if not gone(orphan):
            left.append(f"orphaned temporal {orphan}")
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=30)
        _wait(lambda: gone(fresh), 10)
        if not gone(fresh):
            left.append(f"temporal {fresh} after SIGTERM")
    finally:
        _stop_all(s)
    postmaster, migrated = _embedded_postgres_reclaimed(scratch / "pg-stack")
    if not gone(postmaster):
        left.append(f"embedded postgres {postmaster}")
        psutil.Process(postmaster).terminate()
    return Row(
        "SIGTERM / SIGKILL to renewals dev-server (13.15)",
        "SIGTERM stops Temporal; after SIGKILL the next start reclaims it and `renewals migrate` stops a stale "
        "embedded PostgreSQL",
        f"left running: {', '.join(left) or 'nothing'}; migrate exit {migrated}",
        lost=len(left),
        ok=migrated == 0 and fresh != orphan,
        detail={"left": left},
    )


def _embedded_postgres_reclaimed(data: Path) -> tuple[int, int]:
    """A holder starts the embedded PostgreSQL and is SIGKILLed; then `renewals migrate` on the same data dir. The
    postmaster's pid, and migrate's exit status."""
    holder = subprocess.Popen(
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
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert holder.stdout is not None and b"postgresql://" in holder.stdout.readline()
        postmaster = int((data / "pg" / "postmaster.pid").read_text().split("\n", 1)[0])
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=10)
    run = subprocess.run([RENEWALS, "migrate"], env=env(data), capture_output=True, timeout=180)
    _wait(lambda: gone(postmaster), 20)
    return postmaster, run.returncode


def _wait(check: Any, within: float) -> None:
    """Poll with a deadline (a process's exit is seen by the kernel a moment after its parent's wait)."""
    deadline = time.monotonic() + within
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
