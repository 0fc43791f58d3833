"""A connector key to check before it is stored: what the API hands the worker through Temporal."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

CHECK_FAILED = "ConnectorCheckFailed"  # the check itself broke (e.g. an unreachable api_base), not the vendor
DSN_REFUSED = "UsageDsnRefused"  # a usage DSN at the product's own server or off the allow-list (nothing contacted)


class ConnectorCheck(BaseModel):
    tenant_id: str
    kind: str
    # The key encrypted with the deployment's secret key, as it is stored: it passes through the workflow's
    # history, which must never hold a plain credential.
    secret: bytes
    config: dict[str, Any]
