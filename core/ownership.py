"""Who owns a cold account of the daily briefing: the "Mine" buttons, and the escalation of the accounts nobody
claimed. Pure: Block Kit and texts; the claims live in briefing_claims (db/claims.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.blocks import escape

MINE = "briefing.claim"  # the action_id the Slack interactivity endpoint answers
SHOWN = 10  # the briefing's "Most urgent" list shows this many (core.health.briefing_blocks' `top`)


def claimable(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The cold accounts the briefing shows: what can be claimed, and what escalates unclaimed."""
    return [a for a in summary.get("top", [])[:SHOWN] if a["tier"] == "cold"]


def claim_value(day: dt.date, customer_id: str) -> str:
    return f"{day.isoformat()}|{customer_id}"


def parse_claim(value: str) -> tuple[dt.date, str]:
    """The day and customer a button names; ValueError when it names none."""
    day, sep, customer_id = value.partition("|")
    if not sep or not customer_id or "\x00" in customer_id:
        raise ValueError(f"not a claim: {value!r}")
    return dt.date.fromisoformat(day), customer_id


def claim_blocks(day: dt.date, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One "Mine" button per cold account shown, after the briefing's lists (a Slack actions block holds 25)."""
    cold = claimable(summary)
    if not cold:
        return []
    return [
        {
            "type": "actions",
            "block_id": f"claim:{day.isoformat()}",
            "elements": [
                {
                    "type": "button",
                    "action_id": f"{MINE}:{n}",  # unique within the block, as Slack requires
                    "text": {"type": "plain_text", "text": f"Mine: {a['name']}"[:75]},
                    "value": claim_value(day, a["customer_id"]),
                }
                for n, a in enumerate(cold)
            ],
        }
    ]


def is_claim(action_id: str) -> bool:
    return action_id == MINE or action_id.startswith(f"{MINE}:")


def escalation_text(tenant_id: str, day: dt.date, minutes: int, accounts: list[dict[str, Any]]) -> str:
    """What on-call reads: the cold accounts nobody claimed, largest first, each with its recommendation."""
    lines = [
        f"• {a['name']} (${a['arr_usd']:,.0f}) — {a['recommendation']}"
        for a in sorted(accounts, key=lambda a: -a["arr_usd"])
    ]
    return (
        f"[{tenant_id}] {len(accounts)} cold account(s) from the {day.isoformat()} briefing unclaimed after "
        f"{minutes} minutes:\n" + "\n".join(lines)
    )


def claimed_text(customer_name: str, operator: str, already: str | None) -> str:
    if already and already != operator:
        return f"{escape(customer_name)} is already {already}'s"
    return f"{escape(customer_name)} is {operator}'s now"
