"""What a vendor's webhook event means for the evidence kept in PostgreSQL (pure: wire format in, a change out).

Slack Events API `message` events: a top-level message (or a reply also sent to the channel) is kept; a thread
reply counts on its parent (the unanswered-question rule reads reply_count); an edit replaces the kept copy; a
deletion removes it. Stripe `invoice.*` events carry the invoice as it was when the event was created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeGuard


@dataclass(frozen=True)
class SlackChange:
    action: Literal["keep", "reply", "delete"]
    channel: str
    ts: str  # the message kept or deleted, or the parent a reply counts on
    message: dict[str, Any] | None = None


def slack_change(event: dict[str, Any]) -> SlackChange | None:
    """The change a Slack `message` event makes to the kept channel; None for anything else."""
    if event.get("type") != "message" or not isinstance(event.get("channel"), str):
        return None
    channel, subtype = event["channel"], event.get("subtype")
    if subtype == "message_deleted" and isinstance(event.get("deleted_ts"), str):
        return SlackChange("delete", channel, event["deleted_ts"])
    if subtype == "message_changed":
        message = event.get("message")
        if readable_ts(message) and not _reply(message):
            return SlackChange("keep", channel, message["ts"], _as_history(message))
        return None
    if subtype not in (None, "thread_broadcast") or not readable_ts(event):
        return None  # joins, topics, bots' own subtypes: not the customer talking
    if _reply(event):
        return SlackChange("reply", channel, str(event["thread_ts"]))
    return SlackChange("keep", channel, event["ts"], _as_history(event))


def _reply(m: dict[str, Any]) -> bool:
    return bool(m.get("thread_ts")) and m.get("thread_ts") != m.get("ts") and m.get("subtype") != "thread_broadcast"


def _as_history(m: dict[str, Any]) -> dict[str, Any]:
    """The message as conversations.history shows it: without the event's envelope fields."""
    return {k: v for k, v in m.items() if k not in ("channel", "event_ts", "channel_type")}


def stripe_invoice(event: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
    """The invoice an `invoice.*` event carries, and when it was true (the event's `created`); None otherwise."""
    obj = (event.get("data") or {}).get("object") or {}
    if not str(event.get("type", "")).startswith("invoice.") or obj.get("object") != "invoice":
        return None
    if not obj.get("id") or not isinstance(obj.get("customer"), str) or not isinstance(event.get("created"), int):
        return None
    return obj, event["created"]


def readable_ts(m: object) -> TypeGuard[dict[str, Any]]:
    """A Slack message whose ts can be kept and ordered (a malformed one is named by the scan, never kept)."""
    if not (isinstance(m, dict) and isinstance(m.get("ts"), str)):
        return False
    try:
        return float(m["ts"]) > 0
    except ValueError:
        return False
