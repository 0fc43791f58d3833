"""Weight profiles per segment: the tenant names segments by rules (ARR band, customer age, plan) and gives each
its own weights and thresholds; the first profile whose rules match a customer judges it, the tenant's default
weights judge the rest. A layer over core/factors: it only chooses the weights and thresholds the math is given.

Pure: models and functions, no I/O. The versions themselves are rows in weight_versions (db/profiles.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, field_validator, model_validator

from core.factors import DEFAULT_WEIGHTS, Thresholds, check_weights
from schemas.evidence import CustomerProfile, Factor
from schemas.verdict import FactorBreakdown


class SegmentRules(BaseModel):
    """Who is in the segment: every rule given must hold (a rule left out matches anyone). ARR in dollars, age in
    days since the subscription started, plan as Stripe names it (the price's lookup key, nickname or id) or the
    contract (monthly, annual)."""

    arr_min_usd: float | None = Field(None, ge=0)
    arr_max_usd: float | None = Field(None, ge=0, description="exclusive")
    age_min_days: int | None = Field(None, ge=0)
    age_max_days: int | None = Field(None, ge=0, description="exclusive")
    plans: list[Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]] | None = Field(
        None, min_length=1, max_length=50
    )


class ProfileThresholds(BaseModel):
    """The classification thresholds on the weighted total; one left out keeps the default (core.factors)."""

    expansion: float | None = Field(None, gt=0, le=1)
    at_risk: float | None = Field(None, ge=-1, lt=0)
    likely_churn: float | None = Field(None, ge=-1, lt=0)


class WeightProfile(BaseModel):
    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
    rules: SegmentRules
    weights: dict[Factor, float]
    thresholds: ProfileThresholds = Field(default_factory=ProfileThresholds)

    @field_validator("weights")
    @classmethod
    def _weights(cls, w: dict[Factor, float]) -> dict[Factor, float]:
        return check_weights({str(k): v for k, v in w.items()})

    @model_validator(mode="after")
    def _ordered(self) -> WeightProfile:
        t = Thresholds(**{k: v for k, v in self.thresholds.model_dump().items() if v is not None})
        if not t.likely_churn < t.at_risk < t.expansion:
            raise ValueError(
                f"profile {self.name}: thresholds (with the defaults) must be likely_churn < at_risk < expansion"
            )
        return self


class ProfilesIn(BaseModel):
    """The segment profiles, tried in order: the first whose rules match a customer judges it; a customer no
    profile matches is judged by the tenant's default weights (PUT /v1/settings)."""

    profiles: list[WeightProfile] = Field(max_length=20)

    @model_validator(mode="after")
    def _unique(self) -> ProfilesIn:
        names = [p.name for p in self.profiles]
        if len(names) != len(set(names)) or "default" in names:
            raise ValueError("profile names must be unique, and 'default' is the tenant's own weights")
        return self


class WeightVersion(ProfilesIn):
    """The tenant's whole weighting as it stood from `at`; verdicts and diary entries cite its number."""

    version: int
    at: dt.datetime | None = None
    actor: str
    default_weights: dict[Factor, float]


DEFAULT = "default"


def _age_days(customer: CustomerProfile, run_date: dt.date) -> int | None:
    started = customer.billing.get("started")
    return (run_date - dt.date.fromisoformat(started)).days if isinstance(started, str) else None


def matches(rules: SegmentRules, customer: CustomerProfile, run_date: dt.date) -> bool:
    """Every rule given holds. A customer whose age or plan is unknown is outside a segment that asks for one."""
    arr = customer.arr_cents / 100
    if rules.arr_min_usd is not None and arr < rules.arr_min_usd:
        return False
    if rules.arr_max_usd is not None and arr >= rules.arr_max_usd:
        return False
    if rules.age_min_days is not None or rules.age_max_days is not None:
        age = _age_days(customer, run_date)
        if age is None:
            return False
        if rules.age_min_days is not None and age < rules.age_min_days:
            return False
        if rules.age_max_days is not None and age >= rules.age_max_days:
            return False
    if rules.plans is not None:
        names = {str(v).lower() for v in (customer.billing.get("plan"), customer.contract) if v}
        if not names & {p.lower() for p in rules.plans}:
            return False
    return True


def pick(version: WeightVersion, customer: CustomerProfile, run_date: dt.date) -> WeightProfile | None:
    """The first profile whose rules match the customer; None: the tenant's default weights."""
    return next((p for p in version.profiles if matches(p.rules, customer, run_date)), None)


def weighting(
    version: WeightVersion, customer: CustomerProfile, run_date: dt.date
) -> tuple[str, dict[Factor, float], Thresholds]:
    """The profile's name, weights and thresholds for one customer."""
    p = pick(version, customer, run_date)
    if p is None:
        return DEFAULT, dict(version.default_weights), Thresholds()
    given = {k: v for k, v in p.thresholds.model_dump().items() if v is not None}
    return p.name, dict(p.weights), Thresholds(**given)


def initial(weights: dict[Factor, float] | None = None) -> WeightVersion:
    """Version 1 of a tenant that has changed nothing: its weights, no profiles."""
    return WeightVersion(version=1, actor="created", default_weights=weights or DEFAULT_WEIGHTS, profiles=[])


def weights_cited(b: FactorBreakdown) -> str:
    """The diary's citation of the weighting that judged the verdict (nothing for rows from before versions)."""
    if b.weights_version is None:
        return ""
    return f" Weighed by the {b.profile or DEFAULT} profile, weights version {b.weights_version}."
