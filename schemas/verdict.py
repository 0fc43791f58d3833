"""Verdicts: the one schema every model (offline or vendor) must answer in, validated against the bundle."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from schemas.evidence import Factor

Classification = Literal["expansion", "standard", "at_risk", "likely_churn"]
Severity = Literal["LOW", "MEDIUM", "HIGH"]
Action = Literal["send_save_email", "send_upsell_email", "internal_alert", "none"]
Route = Literal["TIER1", "TIER2", "TIER3"]

SOURCE_VALIDATION_FAILED = "source_validation_failed"


class FactorScore(BaseModel):
    factor: Factor
    score: float = Field(ge=-1.0, le=1.0)
    weight: float = Field(ge=0.0, le=1.0)
    contribution: float
    evidence: list[str] = Field(default_factory=list)  # source ids behind the score


class FactorBreakdown(BaseModel):
    """The open factor math shown with every verdict: no opaque single score."""

    factors: list[FactorScore]
    total: float
    thresholds: dict[str, float]
    pushed_by: Factor | None  # the factor whose contribution carried the total across the threshold
    # The weight of the factors some evidence could speak to: a factor whose every source is missing (and which
    # has no evidence) is left out, and the total is the sum of contributions over this weight. Stored verdicts
    # from before it was kept read as 1.0, every factor informed.
    informed_weight: float = Field(default=1.0, gt=0.0, le=1.0)
    uninformed: list[Factor] = Field(default_factory=list)
    # Source ids of evidence older than its source's freshness limit (core/freshness.py), and which weight profile
    # (and which version of the tenant's weights) judged it (core/profiles.py). Older rows: none, unknown.
    stale: list[str] = Field(default_factory=list)
    profile: str | None = None
    weights_version: int | None = None


class DraftEmail(BaseModel):
    """What a model writes: subject and body as templates, prose with {{...}} references that the renderer
    fills from the evidence (see core/render.py), and the source ids the email rests on."""

    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)
    anchors: list[str] = Field(min_length=1)


class RenderedEmail(BaseModel):
    """The customer-ready text of a validated draft, beside the template it came from."""

    subject: str
    body: str
    quotes_customer: bool = False  # quotes customer-authored text or rests on it: never auto-sent


class VerdictRow(BaseModel):
    """What a model returns for one customer."""

    customer_id: str
    classification: Classification
    severity: Severity
    cited_source_ids: list[str]
    diary: str = Field(min_length=1, max_length=2000)
    recommended_action: Action
    email: DraftEmail | None = None
    abstain_reason: str | None = None


class BatchVerdicts(BaseModel):
    rows: list[VerdictRow]


class Verdict(VerdictRow):
    """A recorded verdict: the validated row plus how it was reached."""

    breakdown: FactorBreakdown
    route: Route
    model: str
    notes: list[str] = Field(default_factory=list)  # validation demotions, cost-cap fallbacks
    needs_review: bool = False  # TIER3: worker, supervisor and tiebreaker all disagreed
    # Rendered from `diary` and `email` (templates) once validated; None on rows recorded before templates.
    rendered_diary: str | None = None
    rendered_email: RenderedEmail | None = None
    # The evidence this verdict read (core.carry.fingerprint), and for a verdict carried forward without a model
    # call, the run date of the model reading it repeats.
    fingerprint: str | None = None
    carried_from: dt.date | None = None
