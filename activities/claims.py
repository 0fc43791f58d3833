"""The briefing's unclaimed cold accounts, escalated to on-call: when the claim window ends, and the escalation."""

from __future__ import annotations

import datetime as dt

from temporalio import activity

from activities.notify import notify
from core import ownership
from db import claims, reports, tenants
from db import settings as tenant_settings
from db.pool import Database
from schemas.workflow_io import ReportRef


class ClaimActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    async def claim_window(self, ref: ReportRef) -> float | None:
        """Seconds from now until the briefing's unclaimed cold accounts escalate (0: already due); None when the
        tenant escalates nothing, the briefing was not posted, or it has no cold account to claim."""
        async with self.db.tenant(ref.tenant_id) as conn:
            minutes = await claims.escalate_after(conn)
            row = await reports.get(conn, "briefing", ref.day)
        if minutes is None or row is None or row["posted_at"] is None or not ownership.claimable(row["summary"]):
            return None
        due: dt.datetime = row["posted_at"] + dt.timedelta(minutes=minutes)
        return max(0.0, (due - dt.datetime.now(dt.UTC)).total_seconds())

    @activity.defn
    async def escalate_unclaimed(self, ref: ReportRef) -> int:
        """Tell on-call of the briefing's cold accounts nobody claimed, once each. Returns how many."""
        async with self.db.tenant(ref.tenant_id) as conn:
            row = await reports.get(conn, "briefing", ref.day)
            minutes = await claims.escalate_after(conn)
            if row is None or minutes is None:
                return 0
            cold = {a["customer_id"]: a for a in ownership.claimable(row["summary"])}
            escalated = await claims.mark_escalated(conn, ref.tenant_id, ref.day, sorted(cold))
            if escalated:
                await tenants.audit(
                    conn,
                    ref.tenant_id,
                    "briefing",
                    "briefing.escalated",
                    ref.day.isoformat(),
                    {"customers": escalated, "after_minutes": minutes},
                )
            webhook = await tenant_settings.oncall_webhook(conn)
        if escalated:  # after the commit, as on-call's other alerts: a hanging webhook holds no transaction
            text = ownership.escalation_text(ref.tenant_id, ref.day, minutes, [cold[c] for c in escalated])
            await notify(webhook, text)
        return len(escalated)
