"""What changed between a customer's run and its previous run, and the operator's override: as the API serves them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from schemas.evidence import Factor, FactValue
from schemas.verdict import Classification, Severity

OverrideVerdict = Literal["expansion", "standard", "at_risk", "likely_churn", "hold_standard"]


class FactMove(BaseModel):
    fact: str
    old: FactValue
    new: FactValue


class EvidenceChange(BaseModel):
    change: Literal["added", "gone", "changed"]
    source_id: str
    kind: str
    summary: str = Field(description="the item's summary as of the newer run (the older one for a gone item)")
    facts: list[FactMove] = Field(default_factory=list, description="for a changed item: each fact that moved")


class FactorMove(BaseModel):
    factor: Factor
    old: float = Field(description="the factor's contribution to the total in the previous run")
    new: float
    delta: float


class PreviousVerdict(BaseModel):
    run_date: dt.date
    classification: Classification
    severity: Severity


class RunChanges(BaseModel):
    """One run against the run before it. A run with no previous run has previous=None and every item added."""

    run_date: dt.date
    classification: Classification
    severity: Severity
    previous: PreviousVerdict | None
    evidence: list[EvidenceChange] = Field(default_factory=list)
    factors: list[FactorMove] = Field(default_factory=list, description="largest move first")
    total_delta: float = Field(0.0, description="how far the weighted total moved")
    summary: str = Field("", description="the changes in one line, as the diary and the briefing say them")


class Override(BaseModel):
    id: int
    customer_id: str
    verdict: OverrideVerdict
    reason: str
    expires_on: dt.date
    set_by: str
    set_at: dt.datetime
    ended_at: dt.datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
