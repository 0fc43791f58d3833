"""Every workflow and Schedule ID, in one place: the workflows, the API, the workers and the tests all build them
here. Each is derived from tenant, date and number, so a retry or a second start finds the same workflow (and
Temporal refuses a duplicate). Changing a format orphans the running workflows named by the old one."""

from __future__ import annotations

import datetime as dt

DAILY_SCHEDULE = "renewals-daily"  # the Schedule, and the ID of the DailyScanWorkflow it starts


def tenant_scan(tenant_id: str, run_date: dt.date) -> str:
    """The scheduled run's child and a scan started by hand share it: never two scans of one date at once."""
    return f"tenant-scan/{tenant_id}/{run_date.isoformat()}"


def scan_chunk(tenant_id: str, run_date: dt.date, chunk_no: int) -> str:
    return f"scan-chunk/{tenant_id}/{run_date.isoformat()}/{chunk_no}"


def classify_batch(tenant_id: str, run_date: dt.date, batch_no: int) -> str:
    return f"classify/{tenant_id}/{run_date.isoformat()}/{batch_no}"


def supervisor_review(tenant_id: str, run_date: dt.date, batch_no: int) -> str:
    return f"supervisor/{tenant_id}/{run_date.isoformat()}/{batch_no}"


def tiebreak(tenant_id: str, run_date: dt.date, batch_no: int, customer_id: str) -> str:
    return f"tiebreak/{tenant_id}/{run_date.isoformat()}/{batch_no}/{customer_id}"


def approval(tenant_id: str, customer_id: str, run_date: dt.date) -> str:
    return f"approval/{tenant_id}/{customer_id}/{run_date.isoformat()}"


def report_by_hand(tenant_id: str, kind: str, day: dt.date) -> str:
    """kind: briefing | digest. The scheduled runs get their IDs from their Schedule (below)."""
    return f"{kind}/{tenant_id}/{day.isoformat()}/by-hand"


def briefing_escalation(tenant_id: str, day: dt.date) -> str:
    """One per briefing day: a second run of the day's briefing finds the first's and starts none."""
    return f"briefing-escalation/{tenant_id}/{day.isoformat()}"


REPORT_SCHEDULES = ("health-briefing", "weekly-digest")  # a tenant's report Schedule is <kind>/<tenant id>


def briefing_schedule(tenant_id: str) -> str:
    return f"health-briefing/{tenant_id}"


def digest_schedule(tenant_id: str) -> str:
    return f"weekly-digest/{tenant_id}"


def connector_check(tenant_id: str, kind: str, nonce: str) -> str:
    """nonce: each check is its own run (two admins may check keys at once)."""
    return f"connector-check/{tenant_id}/{kind}/{nonce}"
