"""Checking a connector's key with one authenticated read, for the API: the API reaches vendors only through
Temporal, so its process loads no vendor SDK and an admin's request runs the read where the scans run theirs."""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors import registry
from connectors.stripe import StripeSource
from core.secrets import decrypt
from schemas.connectors import CHECK_FAILED, ConnectorCheck


class ConnectorActivities:
    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key

    @activity.defn
    async def check_connector(self, inp: ConnectorCheck) -> dict[str, Any]:
        """One read with the key; what the config should also keep (Slack: the tenant's own team id). Raises the
        connector's ApplicationError (its type tells a refused key from an outage), or CHECK_FAILED with what
        went wrong."""
        key = decrypt(self.secret_key, inp.secret)
        try:
            if inp.kind == "stripe":
                await StripeSource(key, inp.config.get("api_base"), timeout=10).check()
                return {}
            return await registry.check(inp.kind, key, inp.config)
        except ApplicationError:
            raise
        except Exception as e:  # noqa: BLE001 - e.g. an unreachable api_base: the admin needs to read what happened
            raise ApplicationError(str(e), type=CHECK_FAILED, non_retryable=True) from e
