"""The optional evidence sources (HubSpot, Salesforce, Slack), built from a tenant's stored key and config.

Each answers `await gather(customers, run_date) -> {customer_id: (items, error or None)}` and `check()`.
Stripe and usage have their own activities (Stripe also hydrates the customer list).

Config keys, all optional except where said:
- `api_base`: the vendor's base URL, to point at a sandbox or a proxy (Salesforce: the instance URL, required);
- `ca_file`: a CA bundle to trust (a proxy or sandbox with a private CA; Salesforce only speaks https);
- `at_risk_stages`: Salesforce opportunity stages that mean a renewal in trouble;
- `team_id`: Slack, the tenant's own workspace, stored from auth.test when it is connected.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

import requests
from aiolimiter import AsyncLimiter
from temporalio.exceptions import ApplicationError

from connectors.hubspot import HubSpotConnector, HubSpotSource, Result
from connectors.salesforce import (
    CHAMPION_FIELD,
    LEFT_FIELD,
    SalesforceConnector,
    SalesforceSource,
    contact_fields,
)
from connectors.slack import Kept, SlackConnector, SlackSource
from schemas.evidence import CustomerProfile

Optional = Literal["hubspot", "salesforce", "slack"]
OPTIONAL: tuple[Optional, ...] = ("hubspot", "salesforce", "slack")

# Requests per second per tenant, under each vendor's documented limit: HubSpot private apps 100 per 10 s on the
# smallest plans; Slack conversations.history Tier 3, about 50 per minute; Salesforce counts per day, not per
# second, so a modest pace keeps one tenant's scan from starving its other integrations.
REQUESTS_PER_SECOND: dict[str, float] = {"hubspot": 9.0, "salesforce": 5.0, "slack": 0.8}


def pacer(per_second: float) -> AsyncLimiter:
    """A steady pace: one second's worth of burst at most, and under one a second no burst at all."""
    return AsyncLimiter(per_second, 1.0) if per_second >= 1 else AsyncLimiter(1, 1 / per_second)


class Gatherer(Protocol):
    async def gather(self, customers: list[CustomerProfile], run_date: dt.date) -> Result: ...


def _session(config: dict[str, Any]) -> requests.Session:
    session = requests.Session()
    if config.get("ca_file"):
        # trust_env off: requests lets REQUESTS_CA_BUNDLE in the environment override Session.verify.
        session.verify, session.trust_env = str(config["ca_file"]), False
    return session


def _blocking(pace: Callable[[], Awaitable[None]] | None) -> Callable[[], None] | None:
    """The async pacer, usable from the worker thread the synchronous SDKs run in."""
    if pace is None:
        return None
    loop = asyncio.get_running_loop()

    async def paced() -> None:  # a coroutine, which run_coroutine_threadsafe needs (pace returns an awaitable)
        await pace()

    return lambda: asyncio.run_coroutine_threadsafe(paced(), loop).result()


def open_source(
    kind: str,
    key: str,
    config: dict[str, Any],
    pace: Callable[[], Awaitable[None]] | None = None,
    hold: Callable[[float], Awaitable[None]] | None = None,
) -> HubSpotSource | SalesforceSource | SlackSource:
    if kind == "hubspot":
        return HubSpotSource(key, config.get("api_base"), pace=_blocking(pace))
    if kind == "salesforce":
        if not config.get("api_base"):
            raise ApplicationError(
                "connector salesforce: no instance URL; reconnect it with api_base set to "
                "https://<your domain>.my.salesforce.com",
                type="NotConnected",
                non_retryable=True,
            )
        return SalesforceSource(config["api_base"], key, session=_session(config), pace=_blocking(pace))
    if kind == "slack":
        return SlackSource(key, config.get("api_base"), pace=pace, hold=hold)
    raise ValueError(f"not an optional evidence source: {kind}")


def open_connector(
    kind: str,
    key: str,
    config: dict[str, Any],
    pace: Callable[[], Awaitable[None]] | None = None,
    *,
    slack_kept: dict[str, Kept] | None = None,
    slack_events_on: bool = False,
    slack_users: dict[str, dict[str, Any]] | None = None,
    hold: Callable[[float], Awaitable[None]] | None = None,
) -> Gatherer:
    """`slack_kept`: each channel's messages and cursor kept in PostgreSQL, for incremental reads (with the users
    already known)."""
    source = open_source(kind, key, config, pace, hold)
    if isinstance(source, HubSpotSource):
        return HubSpotConnector(source)
    if isinstance(source, SalesforceSource):
        return SalesforceConnector(source, frozenset(config.get("at_risk_stages") or ()), *salesforce_fields(config))
    return SlackConnector(
        source, own_team=config.get("team_id"), kept=slack_kept, events_on=slack_events_on, users=slack_users
    )


async def check(kind: str, key: str, config: dict[str, Any]) -> dict[str, Any]:
    """One cheap authenticated read; raises the connector's ApplicationError when the vendor refuses. Returns
    what the read taught that the config should keep: Slack's `team_id`, the tenant's own workspace, which tells
    its people from the customer's in a shared channel."""
    source = open_source(kind, key, config)
    if isinstance(source, SlackSource):
        team = await source.team_id()
        return {"team_id": team} if team else {}
    if isinstance(source, SalesforceSource):
        await asyncio.to_thread(source.check, contact_fields(*salesforce_fields(config)))
    else:
        await asyncio.to_thread(source.check)
    return {}


def salesforce_fields(config: dict[str, Any]) -> tuple[str | None, str | None]:
    """The org's champion and departed-contact field names: the defaults unless the config names others (or null)."""
    return (config.get("champion_field", CHAMPION_FIELD) or None, config.get("left_field", LEFT_FIELD) or None)


def open_crm(
    kind: str, key: str, config: dict[str, Any], pace: Callable[[], Awaitable[None]] | None = None
) -> HubSpotConnector | SalesforceConnector:
    """A CRM connector, for its renewal dates (`renewal_dates`) as well as its evidence."""
    connector = open_connector(kind, key, config, pace)
    if not isinstance(connector, HubSpotConnector | SalesforceConnector):
        raise ValueError(f"not a CRM: {kind}")
    return connector
