"""What a send decided on, and what an operator should do when a delivery did not end in "sent". Pure text."""

from __future__ import annotations

import hashlib

# The states a draft can be sent (or edited, or skipped) from: nothing of it has gone out. An undone send is pending.
SENDABLE = ("pending", "delivery_failed")


DELIVERY_UNCERTAIN = "DeliveryUncertain"  # the error type of a send whose line dropped after DATA


def message_id(draft_id: str) -> str:
    """The Message-ID of a draft's one email: derived from the draft, so every attempt and the operator agree."""
    return f"<{hashlib.sha256(draft_id.encode()).hexdigest()[:32]}@renewal-manager>"


def content_version(subject: str, body: str) -> str:
    """Names the exact subject and body a send decided on: the page shows it, the delivery checks it."""
    return hashlib.sha256(f"{subject}\0{body}".encode()).hexdigest()[:12]


def failed_note(error: str) -> str:
    return (
        f"Nothing went out: {error}. Correct what it names if it is the address or the content, then press Send "
        "again (or Skip)."
    )


def uncertain_note(message_id: str) -> str:
    return (
        "The connection to the mail server dropped after the message was handed over, so it may have been "
        f"delivered. Look for Message-ID {message_id} in the mail server's log, then resolve: "
        '{"outcome": "delivered"} if it is there, {"outcome": "send_again"} if it is not.'
    )
