"""Turning vendor failures into Temporal errors an operator can read: for the connectors and the model adapters
alike, so it lives in neither (llm/ must not import connectors/). No I/O: it reads a status and a message.

408, 429 and 5xx stay retryable, with Retry-After turned into the next retry delay; other 4xx are
non-retryable, typed so the UI and the API can say what to do.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

CREDENTIALS_REJECTED = "CredentialsRejected"
VENDOR_UNAVAILABLE = "VendorUnavailable"
VENDOR_REJECTED = "VendorRejectedRequest"
RATE_LIMITED = "RateLimited"


def classify_http(vendor: str, status: int | None, message: str, retry_after: float | None = None) -> ApplicationError:
    if status in (401, 403):
        return ApplicationError(
            f"connector {vendor}: credentials rejected ({status}): {message}. Reconnect {vendor} with a valid key.",
            type=CREDENTIALS_REJECTED,
            non_retryable=True,
        )
    if status == 429:
        return ApplicationError(
            f"connector {vendor}: rate limited: {message}",
            type=RATE_LIMITED,
            next_retry_delay=timedelta(seconds=retry_after) if retry_after else None,
        )
    if status is None or status == 408 or status >= 500:
        return ApplicationError(
            f"connector {vendor}: unavailable ({status or 'no response'}): {message}",
            type=VENDOR_UNAVAILABLE,
            next_retry_delay=timedelta(seconds=retry_after) if retry_after else None,
        )
    return ApplicationError(
        f"connector {vendor}: request rejected ({status}): {message}", type=VENDOR_REJECTED, non_retryable=True
    )


def parse_retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def connector_state(err: ApplicationError) -> str:
    """The connector's state after an attempt that failed with `err`: what GET /v1/connectors shows."""
    return {
        CREDENTIALS_REJECTED: "credentials_rejected",
        RATE_LIMITED: "rate_limited",
        VENDOR_UNAVAILABLE: "unreachable",
        VENDOR_REJECTED: "rejected",
    }.get(err.type or "", "error")
