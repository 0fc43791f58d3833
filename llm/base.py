"""The one small interface every model answers through, offline or vendor."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from schemas.diary import PreviousEntry  # noqa: F401 - a model reads it; its home is schemas (db returns it)
from schemas.evidence import CustomerProfile, EvidenceBundle
from schemas.offers import Offer
from schemas.verdict import BatchVerdicts, FactorBreakdown


class CustomerContext(BaseModel):
    """Everything a model may read about one customer: the profile, the bundle, the math, the diary."""

    profile: CustomerProfile
    bundle: EvidenceBundle
    breakdown: FactorBreakdown
    previous: list[PreviousEntry] = Field(default_factory=list)  # newest first
    offers: list[Offer] = Field(default_factory=list)  # the tenant's offers this customer's route may use
    # An operator's override holding now, as a sentence: context for the model, never a source it may cite.
    override_note: str | None = None


class ModelAnswer(BaseModel):
    verdicts: BatchVerdicts
    model: str
    input_tokens: int = 0  # every prompt token, the cached ones included
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0


class Model(Protocol):
    name: str

    async def classify(self, batch: list[CustomerContext]) -> ModelAnswer: ...
