"""What a tenant configures for the emails it sends: the sender, the signature, and the only commercial terms a
draft may offer (referenced as {{offer:<name>}}; any other term in a draft drops it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

OfferKind = Literal["discount", "credit", "price_hold", "term"]
OfferVerdict = Literal["expansion", "at_risk", "likely_churn"]
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


OfferRoute = Literal["TIER1", "TIER2", "TIER3"]
ALL_ROUTES: tuple[OfferRoute, ...] = ("TIER1", "TIER2", "TIER3")
SAVE_VERDICTS: tuple[OfferVerdict, ...] = ("at_risk", "likely_churn")


class Offer(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$", description="what a draft writes: {{offer:<name>}}")
    kind: OfferKind
    maximum: float = Field(
        gt=0, le=1_000_000, description="discount: percent; credit: USD; price_hold and term: months"
    )
    routes: list[OfferRoute] = Field(
        default_factory=lambda: list(ALL_ROUTES), description="routes whose drafts may use it"
    )
    verdicts: list[OfferVerdict] = Field(
        default_factory=lambda: list(SAVE_VERDICTS), description="verdicts whose drafts may use it"
    )


class EmailSettings(BaseModel):
    sender_name: str = Field("", max_length=120, description="shown in From: and signed when no signature is set")
    reply_to: str | None = Field(None, max_length=254, pattern=EMAIL)
    signature: str = Field("", max_length=1000, description="closes every draft")
    offers: list[Offer] = Field(default_factory=list, max_length=50)
