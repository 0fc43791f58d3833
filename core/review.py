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
