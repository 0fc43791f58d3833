"""On-call's two alerts, as plain functions: the rolling 24-hour validation-failure rate, and a finished run's
route mix leaving its bands. The worker evaluates them (activities/oncall.py); the API only shows the state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from core import routing
from schemas.verdict import Route

ALERT_RATE = routing.BANNER_RATE  # above this share of the last 24 h's verdicts demoted (the inbox banner too)
VALIDATION_FAILURE_RATE = "validation_failure_rate"
ROUTE_MIX_DRIFT = "route_mix_drift"


def rate_breached(rate: float) -> bool:
    return rate > ALERT_RATE


def rate_message(rate: float) -> str:
    return (
        f"{rate:.1%} of the last 24 hours' verdicts cited sources outside their evidence (alert above "
        f"{ALERT_RATE:.0%}): the model may be fabricating; see the runbook"
    )


@dataclass(frozen=True)
class RouteMix:
    mix: dict[str, float]
    drift: list[str]  # tiers outside their band; empty for a baseline run
    baseline: bool  # the tenant's first completed run: it sets the baseline and never alerts


def route_mix(
    routes: Mapping[str, int], *, first_run: bool, target: routing.Bands = routing.TARGET_MIX
) -> RouteMix | None:
    """The realised mix of a run (route -> customers), or None for a run that routed nobody.

    On a tenant's first run every account counts as having moved (there is no previous run to compare
    signals with), so TIER2 is inflated by construction: that run's mix is recorded as the baseline, not judged."""
    tiers = cast(list[Route], [tier for tier, n in routes.items() for _ in range(n)])
    if not tiers:
        return None
    return RouteMix(
        mix={k: round(v, 3) for k, v in routing.mix(tiers).items()},
        drift=[] if first_run else routing.mix_drift(tiers, target),
        baseline=first_run,
    )


def route_mix_message(run_date: dt.date, drift: list[str]) -> str:
    return f"The {run_date} scan's route mix is outside its target: {'; '.join(drift)}"
