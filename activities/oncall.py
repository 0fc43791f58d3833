"""On-call's alerts, evaluated by the worker where the data is made: after each batch is recorded, and at each
scan's end. The state lives in alert_state; on-call is told once per crossing, after the transaction commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import asyncpg

from activities.notify import notify
from core import alerts as rules
from db import alerts, drafts, tenants
from db import settings as tenant_settings


@dataclass
class Notices:
    webhook: str | None = None
    texts: list[str] = field(default_factory=list)

    async def send(self) -> None:
        """Call after the commit: a webhook that hangs must not hold the transaction (notify never raises)."""
        for text in self.texts:
            await notify(self.webhook, text)


async def evaluate(
    conn: asyncpg.Connection,
    tenant_id: str,
    run_date: dt.date | None = None,
    route_mix: rules.RouteMix | None = None,
) -> Notices:
    """In the caller's tenant transaction: the 24 h validation-failure rate always, and a finished run's route
    mix when given. Records each alert's state; returns what on-call must be told once the caller commits."""
    out = Notices()
    rate = await drafts.validation_failure_rate(conn)
    message = rules.rate_message(rate)
    if await alerts.crossed(conn, tenant_id, alerts.VALIDATION_FAILURE_RATE, rules.rate_breached(rate), message):
        out.texts.append(f"[{tenant_id}] {message}")
    if route_mix is not None and run_date is not None:
        drift = route_mix.drift
        detail = (
            rules.route_mix_message(run_date, drift)
            if drift
            else f"{run_date}: " + ("baseline set by the first scan" if route_mix.baseline else "within target")
        )
        if await alerts.crossed(conn, tenant_id, alerts.ROUTE_MIX_DRIFT, bool(drift), detail):
            out.texts.append(f"[{tenant_id}] route mix outside target on {run_date}: {'; '.join(drift)}")
        if drift:
            await tenants.audit(
                conn,
                tenant_id,
                "scan",
                "alert.route_mix_drift",
                run_date.isoformat(),
                {"drift": drift, "mix": route_mix.mix},
            )
    if out.texts:
        out.webhook = await tenant_settings.oncall_webhook(conn)
    return out
