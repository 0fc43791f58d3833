"""Checking a connector's key with one authenticated read, for the API: the API reaches vendors only through
Temporal, so its process loads no vendor SDK and an admin's request runs the read where the scans run theirs."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from connectors import registry
from connectors.dsn import DsnRefused, check_dsn
from connectors.stripe import StripeSource
from core.secrets import decrypt
from schemas.connectors import CHECK_FAILED, DSN_REFUSED, ConnectorCheck


class ConnectorActivities:
    def __init__(self, secret_key: str, *, own_dsn: str | None = None, hosts: list[str] | None = None) -> None:
        # own_dsn: the product's database, which a usage DSN must never reach; hosts: production's allow-list
        self.secret_key, self.own_dsn, self.hosts = secret_key, own_dsn, hosts

    @activity.defn
    async def check_connector(self, inp: ConnectorCheck) -> dict[str, Any]:
        """One read with the key; what the config should also keep (Slack: the tenant's own team id). Raises the
        connector's ApplicationError (its type tells a refused key from an outage), or CHECK_FAILED with what
        went wrong."""
        key = decrypt(self.secret_key, inp.secret)
        if inp.kind == "usage":  # a DSN at the product's own server would read every tenant's data
            try:  # resolves names, so in a thread; nothing is contacted
                await asyncio.to_thread(check_dsn, key, self.own_dsn, self.hosts)
            except DsnRefused as e:
                # an answer to the admin, not a fault of the worker: logged at DEBUG, not as a traceback
                raise ApplicationError(
                    str(e), type=DSN_REFUSED, non_retryable=True, category=ApplicationErrorCategory.BENIGN
                ) from e
            return {}
        try:
            if inp.kind == "stripe":
                await StripeSource(key, inp.config.get("api_base"), timeout=10).check()
                return {}
            return await registry.check(inp.kind, key, inp.config)
        except ApplicationError:
            raise
        except Exception as e:  # noqa: BLE001 - e.g. an unreachable api_base: the admin needs to read what happened
            raise ApplicationError(str(e), type=CHECK_FAILED, non_retryable=True) from e
