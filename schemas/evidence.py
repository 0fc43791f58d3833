"""Evidence: what the connectors found, each item naming the real object it came from."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Source = Literal["stripe", "hubspot", "salesforce", "slack", "usage"]
Factor = Literal["payment_history", "usage_trend", "champion_status", "support_sentiment"]
FACTORS: tuple[Factor, ...] = ("payment_history", "usage_trend", "champion_status", "support_sentiment")

FactValue = str | int | float | bool | None


class EvidenceItem(BaseModel):
    """One signal read from one real object. `source_id` is what every claim must cite."""

    source_id: str = Field(pattern=r"^(stripe|hubspot|salesforce|slack|usage|diary):\S+$")
    kind: str  # e.g. invoice_paid_late, seats_grew, champion_quiet
    factor: Factor
    signal: float = Field(ge=-1.0, le=1.0)  # < 0 pulls toward churn, > 0 toward expansion
    summary: str
    facts: dict[str, FactValue] = Field(default_factory=dict)
    observed_on: dt.date | None = None
    # Set (True) on the judge's copy of the bundle when observed_on is older than its source's freshness limit
    # (core/freshness.py); never stored with the gathered evidence, which stays as the connector read it.
    stale: bool | None = None


class EvidenceBundle(BaseModel):
    tenant_id: str
    customer_id: str
    run_date: dt.date
    items: list[EvidenceItem]
    missing: dict[str, str] = Field(default_factory=dict)  # source -> why it is missing

    def source_ids(self) -> set[str]:
        return {item.source_id for item in self.items}

    def by_id(self) -> dict[str, list[EvidenceItem]]:
        """One real object can carry several signals (an invoice both late and larger), so ids group items."""
        out: dict[str, list[EvidenceItem]] = {}
        for item in self.items:
            out.setdefault(item.source_id, []).append(item)
        return out


class CustomerProfile(BaseModel):
    """What the scan knows about a customer before evidence: read from Stripe and stored in Postgres."""

    tenant_id: str
    customer_id: str
    name: str
    email: str | None
    arr_cents: int
    contract: str | None
    renewal_date: dt.date | None
    links: dict[str, str] = Field(default_factory=dict)
    billing: dict[str, FactValue] = Field(default_factory=dict)  # subscription snapshot from Stripe
