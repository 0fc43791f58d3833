"""Carry-forward of unchanged accounts: a customer whose evidence is what its last model reading saw gets that
reading again, without a model call. Pure.

The fingerprint is a stable hash of everything the verdict rests on except the date and the diary itself: each
item's source id, kind, signal and facts, the sources that were missing, the profile fields a model reads, the
factor math (so a change of weights re-asks) and the offers (so a new offer re-asks). Summaries are left out: they
are prose derived from the facts.

What happens to drafts: a carried verdict never writes a draft. The earlier reading's draft, pending, sent or
skipped, already answers this evidence; a second one for the same facts would be a duplicate in the inbox (or a
second email). A new draft comes with a new model reading, that is with a change or at the N-day limit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from schemas.evidence import CustomerProfile, EvidenceBundle
from schemas.verdict import FactorBreakdown, Route, Verdict

DEFAULT_DAYS = 7
VALIDATION_FAILED = "source_validation_failed"


@dataclass(frozen=True)
class LastVerdict:
    """A customer's latest recorded verdict, as carry-forward needs it."""

    run_date: dt.date
    classification: str
    severity: str
    cited_source_ids: list[str]
    recommended_action: str
    abstain_reason: str | None
    needs_review: bool
    model: str
    fingerprint: str | None
    carried_from: dt.date | None  # the run date of the model reading this verdict repeats; None: it is one
    diary_id: int


def fingerprint(
    profile: CustomerProfile,
    bundle: EvidenceBundle,
    breakdown: FactorBreakdown,
    offers: Sequence[BaseModel] = (),
    override_note: str | None = None,
) -> str:
    """sha256 of the evidence in a canonical form: the same facts give the same hash on any day, in any order.
    An operator override the model reads as context is part of what it read: one set, cleared or lapsed re-asks
    (so a draft the override withheld comes back with a new reading once it lapses)."""
    items = sorted(
        (
            {"source_id": i.source_id, "kind": i.kind, "factor": i.factor, "signal": i.signal, "facts": i.facts}
            for i in bundle.items
        ),
        key=lambda d: (d["source_id"], d["kind"]),
    )
    canonical: dict[str, Any] = {
        "items": items,
        "missing": sorted(bundle.missing),
        "profile": {
            "arr_cents": profile.arr_cents,
            "contract": profile.contract,
            "renewal_date": profile.renewal_date.isoformat() if profile.renewal_date else None,
            "billing": profile.billing,
        },
        "math": breakdown.model_dump(mode="json"),
        "offers": [o.model_dump(mode="json") for o in offers],
    }
    if override_note is not None:  # absent otherwise, so the hashes kept before overrides existed still match
        canonical["operator_override"] = override_note
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def origin(last: LastVerdict) -> dt.date:
    """The date of the model reading a verdict rests on."""
    return last.carried_from or last.run_date


def may_carry(last: LastVerdict | None, fp: str, today: dt.date, days: int, model: str) -> bool:
    """Carry `last` forward to `today`: the same fingerprint, a model reading fewer than `days` days old (counted
    from the reading itself, so carrying never extends the limit), by the model the route uses now (a tenant that
    changed models, or a reading the offline model finished after a cost cap or a vendor failure, is re-asked),
    and not a reading validation demoted."""
    if last is None or days <= 0 or last.fingerprint is None or last.fingerprint != fp:
        return False
    if last.model != model or last.abstain_reason == VALIDATION_FAILED:
        return False
    return last.run_date < today and (today - origin(last)).days < days


def carried_paragraph(last: LastVerdict, n_items: int) -> str:
    """Today's diary paragraph for a carried verdict: what happened, and the entry it repeats."""
    return (
        f"No change since the reading of {origin(last).isoformat()} (diary:{last.diary_id}): the same "
        f"{n_items} evidence item(s) with the same facts, so its verdict, {last.classification} at "
        f"{last.severity} severity, is carried forward without a model call. The model reads this account again "
        f"when anything changes or the reading is too old to carry."
    )


def carried_verdict(
    last: LastVerdict, fp: str, bundle: EvidenceBundle, breakdown: FactorBreakdown, route: Route
) -> Verdict:
    """The verdict recorded for a carried customer: the last reading's judgement, today's paragraph saying so, no
    email (see the module's note on drafts)."""
    paragraph = carried_paragraph(last, len(bundle.items))
    return Verdict.model_validate(
        {
            "customer_id": bundle.customer_id,
            "classification": last.classification,
            "severity": last.severity,
            "cited_source_ids": last.cited_source_ids,
            "diary": paragraph,
            "rendered_diary": paragraph,
            "recommended_action": last.recommended_action,
            "abstain_reason": last.abstain_reason,
            "breakdown": breakdown,
            "route": route,
            "model": last.model,
            "needs_review": last.needs_review,
            "notes": [f"carried forward from diary:{last.diary_id}: evidence unchanged, no model call"],
            "fingerprint": fp,
            "carried_from": origin(last),
        }
    )
