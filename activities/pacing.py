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


class SharedPace:
    """`overrides` (RENEWALS_CONNECTOR_RPS, a bench's unthrottled run) win over each tenant's own pace."""

    def __init__(self, db: Database, overrides: dict[str, float] | None = None) -> None:
        self.db, self.overrides = db, dict(overrides or {})

    def rate(self, vendor: str, key: str, config: dict[str, Any]) -> float:
        return self.overrides.get(vendor) or requests_per_second(vendor, key, config)

    def pacer(self, tenant_id: str, vendor: str, key: str, config: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        per_second = self.rate(vendor, key, config)

        async def pace() -> None:
            async with self.db.tenant(tenant_id) as conn:
                delay = await pacing.claim(conn, tenant_id, vendor, per_second)
            if delay > 0:
                await asyncio.sleep(delay)  # the slot this call holds: waiting it out is the pace

        return pace

    def holder(self, tenant_id: str, vendor: str) -> Callable[[float], Awaitable[None]]:
        """What a connector calls on a 429: every process's next request for this tenant waits out Retry-After."""

        async def hold(seconds: float) -> None:
            async with self.db.tenant(tenant_id) as conn:
                await pacing.hold(conn, tenant_id, vendor, seconds)

        return hold
