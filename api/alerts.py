"""The two alerts an operator sees on the inbox and on-call is told about, once per crossing:
the rolling 24-hour validation-failure rate, and the latest run's route mix leaving its bands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import asyncpg

from core.routing import BANNER_RATE, mix, mix_drift
from db import alerts, drafts, runs
from db import settings as tenant_settings
from schemas.verdict import Route

ALERT_RATE = BANNER_RATE  # above this share of the last 24 h's verdicts demoted for citing outside their evidence


@dataclass
class AlertReading:
    validation_failure_rate: float
    route_mix: dict[str, float]
    route_mix_run: str | None
    route_mix_drift: list[str]
    banners: list[str] = field(default_factory=list)
    to_notify: list[str] = field(default_factory=list)  # crossed just now: tell on-call, after the commit
    webhook: str | None = None


async def read(conn: asyncpg.Connection, tenant_id: str) -> AlertReading:
    """Evaluate both alerts in the caller's tenant transaction and record any crossing in alert_state."""
    rate = await drafts.validation_failure_rate(conn)
    run_date, routes = await runs.latest_routes(conn)
    tiers = cast(list[Route], routes)
    drift = mix_drift(tiers) if tiers else []
    reading = AlertReading(
        validation_failure_rate=rate,
        route_mix=mix(tiers) if tiers else {},
        route_mix_run=run_date.isoformat() if run_date else None,
        route_mix_drift=drift,
    )
    if rate > ALERT_RATE:
        reading.banners.append(
            f"{rate:.1%} of the last 24 hours' verdicts cited sources outside their evidence (alert above "
            f"{ALERT_RATE:.0%}): the model may be fabricating; see the runbook"
        )
    if drift:
        reading.banners.append(f"The {run_date} scan's route mix is outside its target: {'; '.join(drift)}")
    if await alerts.crossed(
        conn,
        tenant_id,
        alerts.VALIDATION_FAILURE_RATE,
        rate > ALERT_RATE,
        reading.banners[0] if rate > ALERT_RATE else f"{rate:.1%}",
    ):
        reading.to_notify.append(f"[{tenant_id}] {reading.banners[0]}")
    # Only once a run exists: the scan's own end (activities/scan.py) records the same crossing on the same
    # row, so whichever sees it first tells on-call and the other stays quiet.
    if routes and await alerts.crossed(conn, tenant_id, alerts.ROUTE_MIX_DRIFT, bool(drift), "; ".join(drift)):
        reading.to_notify.append(f"[{tenant_id}] route mix outside target on {run_date}: {'; '.join(drift)}")
    if reading.to_notify:
        reading.webhook = await tenant_settings.oncall_webhook(conn)
    return reading
