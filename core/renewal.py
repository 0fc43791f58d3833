"""Which date a customer renews on, from the sources that may know it, in the tenant's order of trust.

Stripe's billing period end is the renewal only when the billing interval is the contract term: an annual
contract billed monthly renews on its contract date, which the CRM's renewal deal (close date) or a Stripe
subscription metadata key (e.g. `contract_end_date`, as billing teams record it) holds (issue #12: 45% of
monthly-billed customers got the wrong renewal window). Pure functions; the tenant's order and key are stored in
the Stripe connector's config (`renewal_date_order`, `renewal_metadata_key`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

RenewalSource = Literal["crm", "stripe_metadata", "billing_period_end"]
SOURCES: tuple[RenewalSource, ...] = ("crm", "stripe_metadata", "billing_period_end")
DEFAULT_METADATA_KEY = "contract_end_date"


@dataclass(frozen=True)
class RenewalRule:
    order: tuple[RenewalSource, ...] = SOURCES
    metadata_key: str = DEFAULT_METADATA_KEY

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RenewalRule:
        order = tuple(config.get("renewal_date_order") or SOURCES)
        unknown = [s for s in order if s not in SOURCES]
        if unknown or len(set(order)) != len(order):
            raise ValueError(f"renewal_date_order must name some of {', '.join(SOURCES)}, once each: {list(order)}")
        return cls(order, str(config.get("renewal_metadata_key") or DEFAULT_METADATA_KEY))


def parse_date(value: Any) -> dt.date | None:
    """An ISO date or datetime, or Unix seconds, as metadata and CRM fields hold them; None when unreadable."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        return dt.datetime.fromtimestamp(int(float(value)), dt.UTC).date()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def renewal_date(
    rule: RenewalRule,
    *,
    crm: dt.date | None = None,
    metadata: Mapping[str, Any] | None = None,
    period_end: dt.date | None = None,
) -> tuple[dt.date | None, RenewalSource | None]:
    """The first date the tenant's order finds, and where it came from."""
    found: dict[RenewalSource, dt.date | None] = {
        "crm": crm,
        "stripe_metadata": parse_date((metadata or {}).get(rule.metadata_key)),
        "billing_period_end": period_end,
    }
    for source in rule.order:
        if found[source] is not None:
            return found[source], source
    return None, None


def crm_renewal_dates(items: Sequence[Any]) -> dt.date | None:
    """The renewal deal's or opportunity's close date, from the CRM evidence (its `close_date` fact)."""
    for i in items:
        if str(getattr(i, "source_id", "")).startswith(("hubspot:deal:", "salesforce:opportunity:")):
            when = parse_date((getattr(i, "facts", None) or {}).get("close_date"))
            if when:
                return when
    return None


def stored_renewal_date(
    rule: RenewalRule, crm: dt.date | None, billing: Mapping[str, Any]
) -> tuple[dt.date | None, RenewalSource | None]:
    """The renewal date of a stored customer: its CRM close date (read before the due set is frozen) and the
    Stripe dates the customer sync kept in `billing` (`metadata_renewal_date`, `billing_period_end`), in the
    tenant's order."""
    return renewal_date(
        rule,
        crm=crm,
        metadata={rule.metadata_key: billing.get("metadata_renewal_date")},
        period_end=parse_date(billing.get("billing_period_end")),
    )


def upcoming(when: dt.date | None, run_date: dt.date) -> dt.date | None:
    """A CRM close date that is still ahead: a renewal deal left open past its close date (or last year's, won)
    says nothing about when the contract renews next, so the next source in the tenant's order decides."""
    return when if when is not None and when >= run_date else None
