"""The daily health briefing's judgement, as pure functions: hot / warm / cold per account from its evidence,
a ranking by urgency, a one-line recommendation that cites its signal, and the Slack Block Kit message.

Tiers follow published practice (Gainsight-style bands, PostHog's Vitally rules): payment trouble or falling
usage or an error spike is cold; growth with clean payments is hot; the rest is warm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from schemas.evidence import EvidenceItem

Tier = Literal["hot", "warm", "cold"]
PAYMENT_TROUBLE = {"invoice_past_due", "invoice_uncollectible", "payment_attempts_failed", "cancel_at_period_end",
                   "subscription_past_due", "invoice_paid_late"}
DECLINE = {"usage_fell", "seats_contracted", "plan_downgraded", "low_utilisation"}
ERRORS = {"error_spike"}
GROWTH = {"usage_grew", "seats_grew", "plan_upgraded", "near_seat_limit"}


@dataclass(frozen=True)
class Health:
    customer_id: str
    name: str
    arr_usd: float
    tier: Tier
    urgency: int                 # lower is more urgent
    recommendation: str
    cites: str | None            # the source id behind the recommendation


def _first(items: list[EvidenceItem], kinds: set[str]) -> EvidenceItem | None:
    hits = [i for i in items if i.kind in kinds]
    return min(hits, key=lambda i: (i.signal, i.source_id)) if hits else None


def assess(customer_id: str, name: str, arr_usd: float, items: list[EvidenceItem]) -> Health:
    """Tier, urgency and recommendation for one account. Urgency: 0 cold with payment issues, 1 cold with declining
    usage or errors, 2 hot with expansion signals, 3 warm."""
    pay, fall, err = _first(items, PAYMENT_TROUBLE), _first(items, DECLINE), _first(items, ERRORS)
    grow = max((i for i in items if i.kind in GROWTH), key=lambda i: (i.signal, i.source_id), default=None)
    if pay is not None and (pay.kind != "invoice_paid_late" or pay.signal <= -0.2):
        return Health(customer_id, name, arr_usd, "cold", 0, f"Call about billing: {pay.summary}", pay.source_id)
    if fall is not None or err is not None:
        sig = err if fall is None or (err is not None and err.signal <= fall.signal) else fall
        action = "Investigate the error spike" if sig.kind in ERRORS else "Send a check-in email"
        return Health(customer_id, name, arr_usd, "cold", 1, f"{action}: {sig.summary}", sig.source_id)
    if grow is not None:
        return Health(customer_id, name, arr_usd, "hot", 2, f"Offer a plan upgrade: {grow.summary}", grow.source_id)
    return Health(customer_id, name, arr_usd, "warm", 3, "No action: steady, no red flags", None)


def rank(accounts: list[Health]) -> list[Health]:
    """Most urgent first; within a band, the larger account first (more revenue at stake or in reach)."""
    return sorted(accounts, key=lambda h: (h.urgency, -h.arr_usd, h.customer_id))


def briefing_blocks(tenant: str, day: str, accounts: list[Health], top: int = 10) -> list[dict[str, Any]]:
    """The Slack message: counts, the top accounts by urgency with recommendations, expansion opportunities."""
    ranked = rank(accounts)
    counts = {t: sum(1 for a in accounts if a.tier == t) for t in ("hot", "warm", "cold")}
    line = lambda a: f"*{a.name}* (${a.arr_usd:,.0f}) — {a.recommendation}" + (  # noqa: E731
        f" `{a.cites}`" if a.cites else "")
    urgent = [a for a in ranked if a.tier != "warm"][:top]
    expansion = [a for a in ranked if a.tier == "hot"][:5]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Customer health — {day}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text":
            f":fire: {counts['hot']} hot   :large_yellow_circle: {counts['warm']} warm   "
            f":snowflake: {counts['cold']} cold   ({len(accounts)} paying accounts, {tenant})"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Most urgent*\n" + (
            "\n".join(f"{n}. {line(a)}" for n, a in enumerate(urgent, 1)) or "Nothing urgent today.")}},
    ]
    if expansion:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Expansion opportunities*\n" +
                                                   "\n".join(f"• {line(a)}" for a in expansion)}})
    return blocks
