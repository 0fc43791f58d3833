"""The alerts an operator sees on the inbox, read as the worker left them (activities/oncall.py evaluates them
after each batch and at each scan's end). Reading has no side effects: nothing here writes or tells on-call."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from db import alerts


@dataclass
class AlertReading:
    validation_failure_rate: float
    route_mix: dict[str, float]
    route_mix_run: str | None
    route_mix_drift: list[str]
    banners: dict[str, str] = field(default_factory=dict)  # alert kind -> banner, for the alerts that are on


async def read(conn: asyncpg.Connection) -> AlertReading:
    row = await alerts.inbox_reading(conn)
    run_date, summary, on = row["run_date"], row["summary"] or {}, dict(row["active"])
    return AlertReading(
        validation_failure_rate=row["rate"] or 0.0,
        route_mix=summary.get("route_mix") or {},
        route_mix_run=run_date.isoformat() if run_date else None,
        route_mix_drift=(summary.get("route_mix_drift") or []) if alerts.ROUTE_MIX_DRIFT in on else [],
        banners=on,
    )
