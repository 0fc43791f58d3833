"""The typed registry of evidence facts: what each facts key the connectors write means, how it is shown to a
customer, and which claim words may not stand next to it. A key that is not here cannot be rendered at all.

Data, not code paths: the renderer (core/render.py) and the claim checks (core/claims.py) read these tables, so
a new connector fact is one line here, and no generator-specific phrase is special-cased anywhere. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Unit = Literal["usd", "days", "count", "seats", "users", "percent", "ratio", "date", "person", "label", "quote", "flag"]
# How the sign of a fact is read: from its own value, from the pair it moves with (now vs before), or not at all.
Direction = Literal["signed", "none"] | str  # "pair:<before key>:<now key>"


@dataclass(frozen=True)
class Field:
    unit: Unit
    noun: str = ""  # what the renderer writes after the number ("payment attempts"): the model never types it
    customer: bool = True  # may appear in an email to the customer (False: diary and evidence panel only)
    forbid: tuple[str, ...] = ()  # claim groups that contradict this fact when written next to it
    direction: Direction = "none"
    internal_on: tuple[str, ...] = ()  # source prefixes on which this key is internal (a CRM deal's amount)


# Claim words, by group. Whole words, case-insensitive; `\w*` tails catch the inflections a model reaches for.
CLAIM_WORDS: dict[str, str] = {
    "growth": r"gr[eo]w\w*|increas\w*|up|rose|ris[ei]\w*|expand\w*|gain\w*|higher|added|adding|climb\w*|"
    r"jump\w*|surg\w*|boost\w*|soar\w*|rais\w*|more|extra|additional|larger|bigger|upgrad\w*|ramp\w*|spik\w*",
    "fall": r"fell|fall\w*|drop\w*|declin\w*|decreas\w*|down|shr[aiu]nk\w*|fewer|lower\w*|reduc\w*|lost|los[ei]\w*|"
    r"contract\w*|dipp?\w*|slid\w*|slump\w*|less|smaller|downgrad\w*|cut\w*|plung\w*|sank|sunk|sink\w*|shed\w*",
    "late": r"late|lateness|overdue|past[ -]due|delay\w*|behind|tardy|outstanding|unpaid|missed",
    "on_time": r"on[ -]time|early|earlier|prompt\w*|punctual\w*|ahead",
    "attempts": r"attempt\w*|tr(?:y|ies|ied|ying)|retr(?:y|ies|ied|ying)|charge\w*|declined",
    "seats": r"seats?|licen[cs]\w*",
    "users": r"users?|people|members?|logins?|log-ins?",
    "errors": r"errors?|failures?|incidents?|outages?|crash\w*|bugs?",
    "silence": r"quiet|silent|silence|unanswered|unreplied|waiting|waited|heard",
    "engaged": r"engag\w*|active|responsive|in touch",
}
# Phrasal verbs that are no growth claim ("follow up on", "set up"): removed before the words are read.
PHRASAL = re.compile(r"\b(?:follow|set|sign|catch|pick|back|look|check|bring|come|line|speed|wrap|stay)[ -]up\b", re.I)
# What a unit is mistaken for: a days fact written as attempts, seats or users, and so on.
_NOT_DAYS = ("attempts", "seats", "users", "errors")
_NOT_COUNTS = ("late", "on_time", "silence")
_NOT_SEATS = ("attempts", "late", "errors", "users")

FIELDS: dict[str, Field] = {
    # Stripe invoices
    "amount_usd": Field(
        "usd", forbid=("attempts", "seats", "users", "errors"), internal_on=("hubspot:", "salesforce:")
    ),
    "days_late": Field("days", forbid=(*_NOT_DAYS, "on_time")),
    "days_overdue": Field("days", forbid=(*_NOT_DAYS, "on_time")),
    "due_date": Field("date", forbid=("attempts",)),
    "paid_date": Field("date", forbid=("attempts",)),
    "attempt_count": Field("count", "payment attempts", forbid=(*_NOT_COUNTS, "seats", "users", "errors")),
    "failed_attempts": Field("count", "failed payment attempts", forbid=(*_NOT_COUNTS, "seats", "users", "errors")),
    "invoices_on_time": Field("count", "invoices", forbid=("late", "attempts", "errors", "fall")),
    # Stripe seats and plan
    "seats_before": Field("seats", forbid=_NOT_SEATS, direction="pair:seats_before:seats_now"),
    "seats_now": Field("seats", forbid=_NOT_SEATS, direction="pair:seats_before:seats_now"),
    "change_pct": Field("percent", forbid=("attempts", "late", "on_time"), direction="signed"),
    "unit_price_before_usd": Field(
        "usd", forbid=("attempts", "seats", "users"), direction="pair:unit_price_before_usd:unit_price_now_usd"
    ),
    "unit_price_now_usd": Field(
        "usd", forbid=("attempts", "seats", "users"), direction="pair:unit_price_before_usd:unit_price_now_usd"
    ),
    # Stripe subscription: its status is a raw API value and its ARR is our figure, not a claim to make to them.
    "status": Field("label", customer=False),
    "arr_usd": Field("usd", customer=False),
    "quantity": Field("seats", forbid=_NOT_SEATS),
    "contract": Field("label", forbid=("attempts",)),
    "renewal_date": Field("date", forbid=("attempts", "late")),
    "started": Field("date", forbid=("attempts", "late")),  # when the subscription began: a new account is thin
    # CRM (HubSpot, Salesforce): deal names, stages, pipeline figures and staleness are the vendor's own business.
    "deal": Field("label", customer=False),
    "stage": Field("label", customer=False),
    "days_since_update": Field("days", customer=False),
    "last_modified": Field("date", customer=False),
    "days_in_stage": Field("days", customer=False),
    "probability_pct": Field("percent", customer=False),
    "close_date": Field("date", customer=False),
    "priority": Field("label", customer=False),
    "contact": Field("person"),
    "left_company": Field("flag", customer=False),
    "days_since_contact": Field("days", forbid=(*_NOT_DAYS, "late")),
    "last_contacted": Field("date", forbid=("attempts", "late")),
    # Support tickets
    "days_open": Field("days", forbid=(*_NOT_DAYS, "on_time")),
    "topic": Field("label", forbid=()),
    # Slack: the user is a raw member id; the text is testimony, shown only as an attributed quote.
    "user": Field("label", customer=False),
    "text": Field("quote", customer=False),
    "sentiment": Field("ratio", customer=False),
    "days_quiet": Field("days", forbid=(*_NOT_DAYS, "late")),
    "last_message_on": Field("date", forbid=("attempts", "late")),
    "days_waiting": Field("days", forbid=(*_NOT_DAYS, "on_time")),
    "deactivated": Field("flag", customer=False),  # the poster's Slack account, as users.info reports it
    "customer_latest_word_on": Field("date", customer=False),  # Slack's freshness clock (core.freshness)
    # Usage
    "active_users_now": Field(
        "users", forbid=("attempts", "late", "seats"), direction="pair:active_users_before:active_users_now"
    ),
    "active_users_before": Field(
        "users", forbid=("attempts", "late", "seats"), direction="pair:active_users_before:active_users_now"
    ),
    "active_users": Field(
        "users", forbid=("attempts", "late", "seats"), direction="pair:active_users_before:active_users"
    ),
    "licensed_seats": Field("seats", forbid=_NOT_SEATS),
    "utilisation_pct": Field("percent", forbid=("attempts", "late", "on_time")),
    "errors_2d": Field("count", "errors", forbid=(*_NOT_COUNTS, "seats", "users", "attempts")),
    "spike_ratio": Field("ratio", forbid=("attempts", "late", "fall", "seats")),
    # The health briefing's scan verdict
    "run_date": Field("date", customer=False),
    "classification": Field("label", customer=False),
}

# What an item of a kind says, whatever field is shown: its claim must not read the other way.
KIND_FORBIDS: dict[str, tuple[str, ...]] = {
    "invoice_paid_late": ("on_time",),
    "invoice_past_due": ("on_time",),
    "invoice_uncollectible": ("on_time",),
    "payment_attempts_failed": ("on_time",),
    "payments_on_time": ("late", "attempts"),
    "seats_grew": ("fall",),
    "seats_contracted": ("growth",),
    "plan_upgraded": ("fall",),
    "plan_downgraded": ("growth",),
    "usage_grew": ("fall", "seats"),  # people using the product, not seats bought
    "usage_fell": ("growth", "seats"),
    "near_seat_limit": ("fall",),
    "low_utilisation": ("growth",),
    "champion_engaged": ("silence",),
    "error_spike": ("fall", "on_time"),
}

# Customer-authored text: every Slack message, and any item whose facts carry what a person wrote.
TESTIMONY_PREFIXES = ("slack:",)
TESTIMONY_KEYS = ("text", "quote", "note", "body")
# Kinds whose person is the customer's champion, as the CRM reads them (greeted by name, unless they left).
CHAMPION_KINDS = ("champion_engaged", "champion_quiet")


def field(key: str) -> Field | None:
    return FIELDS.get(key)


def customer_may_see(key: str, source_id: str) -> bool:
    spec = FIELDS.get(key)
    return bool(
        spec and spec.customer and spec.unit not in ("quote", "flag") and not source_id.startswith(spec.internal_on)
    )


def is_testimony(source_id: str, facts: Mapping[str, object]) -> bool:
    return source_id.startswith(TESTIMONY_PREFIXES) or any(k in facts for k in TESTIMONY_KEYS)


def claim_pattern(groups: tuple[str, ...]) -> re.Pattern[str] | None:
    return re.compile(r"\b(?:" + "|".join(CLAIM_WORDS[g] for g in groups) + r")\b", re.I) if groups else None
