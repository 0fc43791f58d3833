"""Freshness: evidence older than its source's limit is stale, and a verdict resting mainly on it abstains.

Pure functions, no I/O. An item's evidence time is its `observed_on`, which each connector sets to the time of the
data the signal rests on: an invoice's created (or paid, or due) day for Stripe, a message's ts for Slack, a
record's last-modified day for the CRM, the newest usage day read for usage. Signals about an absence (the
champion quiet, a question unanswered, a renewal deal that has not moved) and the subscription's own status are
read as of the scan: the silence is what today's read saw, so their evidence time is the run date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from schemas.evidence import EvidenceBundle, EvidenceItem
from schemas.verdict import FactorBreakdown, VerdictRow

# Days. Usage is a daily feed (three days without it means it stopped); a CRM record untouched for a month no
# longer describes the account; a shared channel's talk goes cold in two weeks once the customer has moved on
# (see LATEST_WORD). Stripe bills annual plans once a year, so only an object older than a year and a month says
# the billing feed itself is stale.
DEFAULT_LIMITS: dict[str, int] = {"usage": 3, "hubspot": 30, "salesforce": 30, "slack": 14, "stripe": 400}
AS_OF_READ = frozenset(
    {"champion_quiet", "champion_quiet_in_slack", "question_unanswered", "renewal_deal_stale", "subscription"}
    # Final states: a lost renewal deal or a departed contact is never edited again, and today's read says it
    # still holds, so its age is not staleness.
    | {"renewal_deal_lost", "champion_left", "contact_left"}
)
# Slack is a conversation, not a feed: the connector reads the whole channel every scan, so a message is not
# out of date because the channel went quiet after it; it is still the customer's latest word, and the quiet
# itself is read as of the scan (champion_quiet_in_slack). What goes stale is talk the customer has since moved on
# from: a Slack item carrying `facts[LATEST_WORD]` (the day of the customer side's newest message in its channel)
# is aged from that day, not from the run date. Items without the fact (stored before it, or from elsewhere) age
# from the run date as before.
LATEST_WORD = "customer_latest_word_on"
MAINLY = 0.5  # stale items carrying more than this share of the weighted signal: the verdict abstains
STALE_EVIDENCE = "stale_evidence"


def limits_of(overrides: Mapping[str, int] | None) -> dict[str, int]:
    """The tenant's limits: its own where it set them, the defaults elsewhere."""
    return DEFAULT_LIMITS | {k: int(v) for k, v in (overrides or {}).items() if k in DEFAULT_LIMITS}


def source_of(item: EvidenceItem) -> str:
    return item.source_id.split(":", 1)[0]


def evidence_time(item: EvidenceItem, run_date: dt.date) -> dt.date | None:
    return run_date if item.kind in AS_OF_READ else item.observed_on


def age_days(item: EvidenceItem, run_date: dt.date) -> int | None:
    when = evidence_time(item, run_date)
    if when is None:
        return None
    latest = item.facts.get(LATEST_WORD) if item.kind not in AS_OF_READ else None
    now = dt.date.fromisoformat(latest) if isinstance(latest, str) else run_date
    return (min(now, run_date) - when).days


def is_stale(item: EvidenceItem, run_date: dt.date, limits: Mapping[str, int]) -> bool:
    """Older than its source's limit. An item with no evidence time, or from a source without a limit (the
    briefing's diary items), is never stale."""
    age, limit = age_days(item, run_date), limits.get(source_of(item))
    return age is not None and limit is not None and age > limit


def mark(bundle: EvidenceBundle, limits: Mapping[str, int]) -> EvidenceBundle:
    """The bundle with its stale items marked (a copy: the stored evidence stays as gathered)."""
    items = [i.model_copy(update={"stale": True}) if is_stale(i, bundle.run_date, limits) else i for i in bundle.items]
    return bundle.model_copy(update={"items": items})


def stale_ids(items: Iterable[EvidenceItem]) -> list[str]:
    return sorted({i.source_id for i in items if i.stale})


def stale_share(items: Iterable[EvidenceItem], b: FactorBreakdown) -> float:
    """The share of the verdict's weighted signal (|signal| x its factor's weight) carried by stale items."""
    weight = {r.factor: r.weight for r in b.factors}
    mass = stale = 0.0
    for i in items:
        m = abs(i.signal) * weight.get(i.factor, 0.0)
        mass += m
        stale += m if i.stale else 0.0
    return stale / mass if mass > 0 else 0.0


def stale_reason(items: list[EvidenceItem], b: FactorBreakdown, run_date: dt.date) -> str | None:
    """`stale_evidence: ...` when stale items carry more than MAINLY of the weighted signal, naming the oldest."""
    share = stale_share(items, b)
    if share <= MAINLY:
        return None
    old = sorted((i for i in items if i.stale and i.signal != 0), key=lambda i: -(age_days(i, run_date) or 0))
    named = ", ".join(f"{i.kind.replace('_', ' ')} [{i.source_id}] {age_days(i, run_date)} days old" for i in old[:3])
    return f"{STALE_EVIDENCE}: {round(100 * share)}% of the weighted evidence is past its freshness limit ({named})"


def abstain_row(row: VerdictRow, reason: str) -> VerdictRow:
    """A model's row that did not abstain on mainly stale evidence, held for the operator as thin evidence is."""
    return row.model_copy(
        update={
            "classification": "standard",
            "severity": "LOW",
            "recommended_action": "internal_alert",
            "email": None,
            "abstain_reason": reason,
            "diary": f"{row.diary} Abstained: stale evidence.",
        }
    )
