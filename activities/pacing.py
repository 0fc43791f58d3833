"""Vendor pace shared by every worker process: a slot claimed in PostgreSQL (db/pacing.py), waited here.

Each connector's `pace` callable is one of these. The synchronous SDKs (HubSpot, Salesforce) call it from their
worker thread through connectors.registry._blocking, which runs it on the activity's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from core.pacing import requests_per_second
from db import pacing
from db.pool import Database


def late_after(per_second: float) -> float:
    """How late past its slot a request may still go: half a slot. Later, it gives the slot up for the next free one,
    so no window of the vendor's sees two requests in one slot's time from a worker that woke late."""
    return max(0.5 / per_second, 0.01)  # at thousands a second a slot is less than the event loop's own jitter


class SharedPace:
    """`overrides` (RENEWALS_CONNECTOR_RPS, a bench's unthrottled run) win over each tenant's own pace."""

    def __init__(self, db: Database, overrides: dict[str, float] | None = None) -> None:
        self.db, self.overrides = db, dict(overrides or {})

    def rate(self, vendor: str, key: str, config: dict[str, Any]) -> float:
        return self.overrides.get(vendor) or requests_per_second(vendor, key, config)

    def pacer(self, tenant_id: str, vendor: str, key: str, config: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        per_second = self.rate(vendor, key, config)
        late = late_after(per_second)

        async def pace() -> None:
            loop = asyncio.get_running_loop()
            while True:
                async with self.db.tenant(tenant_id) as conn:
                    delay = await pacing.claim(conn, tenant_id, vendor, per_second)
                if delay <= 0:
                    return
                due = loop.time() + delay
                await asyncio.sleep(delay)  # the slot this call holds: waiting it out is the pace
                if loop.time() - due <= late:
                    return
                # Woken late (a busy event loop): sent now, this request would land beside the next slot's, two in
                # one slot's time, and the vendor counts arrivals. The missed slot goes unused; take a fresh one.

        return pace

    def holder(self, tenant_id: str, vendor: str) -> Callable[[float], Awaitable[None]]:
        """What a connector calls on a 429: every process's next request for this tenant waits out Retry-After."""

        async def hold(seconds: float) -> None:
            async with self.db.tenant(tenant_id) as conn:
                await pacing.hold(conn, tenant_id, vendor, seconds)

        return hold
