"""Telling on-call: one JSON POST to the tenant's webhook (a Slack incoming webhook or any receiver). An HTTP call,
so it lives at the edge (here), not in core/, which does no I/O; the alert texts are made by their callers."""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger("renewals.alerts")


async def notify(webhook: str | None, text: str) -> bool:
    """Best effort: an alert that cannot be delivered is logged, never allowed to fail the request or the scan."""
    log.warning("alert: %s", text)
    if not webhook:
        return False
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            (await http.post(webhook, json={"text": text})).raise_for_status()
        return True
    except httpx.HTTPError as e:
        log.error("alert webhook %s failed: %s", webhook, e)
        return False
