"""Operator overrides: when one may be set, while it holds, what lapses it, and what it decides. Pure.

An override holds from when it is set until the day before `expires_on` (it lapses on its date), unless a strong
signal the customer's evidence did not hold when it was set appears first: a new payment failure, a cancel at
period end, a champion departure. While it holds it decides drafts and reports; the scan's own verdict is still
computed and recorded beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from schemas.evidence import EvidenceItem

MAX_DAYS = 90
# The kinds that end an override early when a new one appears (a signal the operator could not have weighed).
STRONG = frozenset({"payment_attempts_failed", "invoice_uncollectible", "cancel_at_period_end", "champion_left"})
SAVE = frozenset({"at_risk", "likely_churn"})


def expiry_problem(expires_on: dt.date, today: dt.date) -> str | None:
    if expires_on <= today:
        return f"expires must be after today ({today.isoformat()})"
    if (expires_on - today).days > MAX_DAYS:
        return f"expires must be at most {MAX_DAYS} days ahead (by {(today + dt.timedelta(days=MAX_DAYS)).isoformat()})"
    return None


def signal_key(item: EvidenceItem) -> str:
    return f"{item.kind}|{item.source_id}"


def strong_signals(items: Iterable[EvidenceItem]) -> list[str]:
    return sorted({signal_key(i) for i in items if i.kind in STRONG})


def lapse_reason(
    expires_on: dt.date, known: Collection[str], items: Iterable[EvidenceItem], today: dt.date
) -> str | None:
    """Why an open override ends today, or None while it holds."""
    if today >= expires_on:
        return "expired"
    new = [i for i in items if i.kind in STRONG and signal_key(i) not in known]
    if new:
        first = min(new, key=lambda i: (i.kind, i.source_id))
        return f"strong_signal: {first.kind} {first.source_id}"
    return None


def holds(expires_on: dt.date, ended: bool, today: dt.date) -> bool:
    return not ended and today < expires_on


def classification(verdict: str) -> str:
    """The classification an override stands for ('hold_standard' holds the account at standard)."""
    return "standard" if verdict == "hold_standard" else verdict


def allows_draft(verdict: str, kind: str) -> bool:
    """Whether a draft the model wrote may stand under the override: a save email under an at-risk or churn
    override, an upsell under an expansion one; none while the account is held at standard."""
    c = classification(verdict)
    return (kind == "save" and c in SAVE) or (kind == "upsell" and c == "expansion")


def agrees(override_verdict: str, model_classification: str) -> bool:
    return classification(override_verdict) == model_classification


def paragraph(action: str, verdict: str, reason: str, expires_on: dt.date, actor: str, why: str | None = None) -> str:
    """The diary's line for an override event, in the operator's own words (the reason is quoted, never cited)."""
    v = classification(verdict).replace("_", " ")
    held = "held at standard" if verdict == "hold_standard" else f"set to {v}"
    if action == "set":
        return f"Operator {actor} {held} until {expires_on.isoformat()}: “{reason}”."
    if action == "holds":
        return f"Override by {actor} holds ({held} until {expires_on.isoformat()}, “{reason}”)."
    if action == "cleared":
        return f"Operator {actor} cleared the override ({held}, “{reason}”)."
    what = (
        "reached its date"
        if why == "expired"
        else f"ended early on a new strong signal ({(why or '').split(': ', 1)[-1]})"
    )
    return f"The override by {actor} ({held}, “{reason}”) lapsed: it {what}."


def prompt_note(verdict: str, reason: str, actor: str, expires_on: dt.date) -> str:
    """What a model reads about an open override: context, never a source (it has no source id to cite)."""
    v = classification(verdict).replace("_", " ")
    return (
        f"An operator ({actor}) has set this account to {v} until {expires_on.isoformat()}, saying: “{reason}”. "
        "Judge the evidence on its own; this note is context, not evidence, and cannot be cited."
    )
