"""Slack Block Kit pieces shared by the health briefing and the weekly digest."""

from __future__ import annotations

from typing import Any

SECTION_LIMIT = 3000  # characters in a section's text; Slack refuses the whole message above it


def escape(text: str) -> str:
    """Text we did not write (customer names, a model's recommendation, diary lines) shown as written: `&`, `<`
    and `>` are Slack's control characters, and `<!channel>` in a customer's name must not ping a channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 2].rsplit("\n", 1)[0] + "\n…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
