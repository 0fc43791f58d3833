"""The per-draft review message in Slack: what the draft is, and Send / Skip / Open in inbox buttons. Pure."""

from __future__ import annotations

from typing import Any

from core.blocks import escape, section

SEND, SKIP = "draft.send", "draft.skip"  # action_ids the interactivity endpoint answers


def draft_review_blocks(
    draft_id: str, customer_name: str, classification: str, severity: str, subject: str, inbox_url: str
) -> list[dict[str, Any]]:
    """Block Kit for one draft. The buttons carry the draft id; who pressed is checked when Slack calls back."""
    return [
        section(
            f"*{escape(customer_name)}* — {escape(classification)} ({escape(severity)})\nDraft: _{escape(subject)}_"
        ),
        {
            "type": "actions",
            "block_id": f"review:{draft_id}"[:255],
            "elements": [
                {
                    "type": "button",
                    "action_id": SEND,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Send"},
                    "value": draft_id,
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Send this email?"},
                        "text": {"type": "plain_text", "text": "It goes out after the undo window."},
                        "confirm": {"type": "plain_text", "text": "Send"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                    },
                },
                {
                    "type": "button",
                    "action_id": SKIP,
                    "text": {"type": "plain_text", "text": "Skip"},
                    "value": draft_id,
                },
                {
                    "type": "button",
                    "action_id": "draft.open",
                    "text": {"type": "plain_text", "text": "Open in inbox"},
                    "url": inbox_url,
                },
            ],
        },
    ]


# What the message says once the draft is decided; its buttons then go (only Open in inbox stays).
OUTCOMES = {
    "sent": "Sent by {operator}.",
    "skipped": "Skipped by {operator}.",
    "delivery_failed": "Delivery failed: nothing went out. Send again or skip it in the inbox.",
    "delivery_uncertain": "Delivery uncertain: look for it in the mail server's log, then resolve it in the inbox.",
    "undone": "Send undone by {operator}: waiting again.",
}


def review_text(customer_name: str, subject: str, status: str = "pending") -> str:
    """The notification text (and the fallback where blocks do not show)."""
    head = f"Draft for {customer_name}: {subject}"
    return head if status in ("pending", "undone") else f"{head} ({status.replace('_', ' ')})"


def decided_review_blocks(
    draft_id: str,
    customer_name: str,
    classification: str,
    severity: str,
    subject: str,
    inbox_url: str,
    status: str,
    operator: str,
) -> list[dict[str, Any]]:
    """The message after a decision made anywhere (the page, the API, Slack). Undone: the buttons come back."""
    blocks = draft_review_blocks(draft_id, customer_name, classification, severity, subject, inbox_url)
    note = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": escape(OUTCOMES.get(status, status).format(operator=operator))}],
    }
    if status in ("undone", "delivery_failed"):  # still decidable here
        return [blocks[0], note, blocks[1]]
    actions = dict(blocks[1], elements=[e for e in blocks[1]["elements"] if e["action_id"] == "draft.open"])
    return [blocks[0], note, actions]
