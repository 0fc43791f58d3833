"""The connectors' error vocabulary. Its home is core/vendor_errors.py, shared with the model adapters; the names
stay importable from here because every connector speaks them."""

from __future__ import annotations

from core.vendor_errors import (
    CREDENTIALS_REJECTED,
    RATE_LIMITED,
    VENDOR_REJECTED,
    VENDOR_UNAVAILABLE,
    classify_http,
    connector_state,
    parse_retry_after,
)

__all__ = [
    "CREDENTIALS_REJECTED",
    "RATE_LIMITED",
    "VENDOR_REJECTED",
    "VENDOR_UNAVAILABLE",
    "classify_http",
    "connector_state",
    "parse_retry_after",
]
