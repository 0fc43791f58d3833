"""Routing: which model tier reads a customer, decided from features before any model call. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from schemas.verdict import Route, Severity

BANNER_RATE = 0.05  # above this share of the last 24 h's verdicts demoted, the tenant's inbox shows a banner
# The default target bands of the realised route mix; a tenant sets its own (tenant_settings.route_mix_target): a
# book of mostly enterprise accounts routes far more than a tenth to TIER3, and that is no drift.
TARGET_MIX: dict[str, tuple[float, float]] = {"TIER1": (0.60, 0.80), "TIER2": (0.15, 0.35), "TIER3": (0.02, 0.10)}
Bands = Mapping[str, tuple[float, float]]


@dataclass(frozen=True)
class RoutingThresholds:
    tier3_arr_cents: int = 50_000_00
    strong_signal: float = 0.4  # |signal| at or above this counts as the account having moved


@dataclass(frozen=True)
class RouteFeatures:
    arr_cents: int
    last_severity: Severity | None  # severity of the previous run
    severity_before_last: Severity | None  # and of the run before it
    new_strong_signals: int  # strong signals whose source ids were not in the previous run


def route_customer(f: RouteFeatures, t: RoutingThresholds = RoutingThresholds()) -> Route:
    if f.arr_cents >= t.tier3_arr_cents:
        return "TIER3"
    if f.last_severity == "HIGH" and f.severity_before_last != "HIGH":
        return "TIER3"  # crossed into HIGH on the last run: the highest stakes get a second opinion
    if f.new_strong_signals > 0:
        return "TIER2"
    return "TIER1"


def count_new_strong(
    signals: Iterable[tuple[str, float]], previous_ids: set[str], t: RoutingThresholds = RoutingThresholds()
) -> int:
    return sum(1 for sid, s in signals if abs(s) >= t.strong_signal and sid not in previous_ids)


def batches(
    routed: Sequence[tuple[str, Route]], size: int = 10, apart: Collection[str] = frozenset()
) -> list[tuple[Route, list[str]]]:
    """Route-homogeneous batches of at most `size`, in a stable order. Customers in `apart` (those expected to be
    carried forward without a model call) are batched among themselves, so the ones the model reads fill whole
    batches: ten customers per call share the prompt's fixed part, two would pay it five times over."""
    out: list[tuple[Route, list[str]]] = []
    for route in ("TIER1", "TIER2", "TIER3"):
        for group in (False, True):
            ids = sorted(cid for cid, r in routed if r == route and (cid in apart) == group)
            out.extend((route, ids[i : i + size]) for i in range(0, len(ids), size))
    return out


def mix(routes: Iterable[Route]) -> dict[str, float]:
    counts: Counter[str] = Counter(routes)
    n = sum(counts.values()) or 1
    return {r: counts[r] / n for r in TARGET_MIX}


def mix_drift(routes: Iterable[Route], target: Bands = TARGET_MIX) -> list[str]:
    """Tiers whose share falls outside the target band: an alert for on-call, not an error."""
    return [
        f"{r} at {share:.0%} (target {target[r][0]:.0%}-{target[r][1]:.0%})"
        for r, share in mix(routes).items()
        if not target[r][0] <= share <= target[r][1]
    ]


def check_target(bands: Bands) -> dict[str, tuple[float, float]]:
    """A tenant's target bands, refused unless every tier has one, each within 0..1 and low <= high, and some
    mix fits all three at once (the lows sum to at most 1, the highs to at least 1)."""
    if set(bands) != set(TARGET_MIX):
        raise ValueError(f"route_mix_target needs a band for each of {', '.join(TARGET_MIX)}, and only those")
    for r, (lo, hi) in bands.items():
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"route_mix_target {r}: [{lo}, {hi}] is not a band within 0..1 (low first)")
    if sum(lo for lo, _ in bands.values()) > 1 or sum(hi for _, hi in bands.values()) < 1:
        raise ValueError(
            "route_mix_target: no mix fits these bands (the lows must sum to at most 1, the highs to at least 1)"
        )
    return {r: (float(bands[r][0]), float(bands[r][1])) for r in TARGET_MIX}


def may_auto_send(
    route: str,
    classification: str,
    arr_cents: int,
    auto_send: dict[str, bool],
    t: RoutingThresholds = RoutingThresholds(),
    *,
    severity: str = "LOW",
    needs_review: bool = False,
    quotes_customer: bool = False,
    has_notes: bool = False,
    failure_rate: float = 0.0,
) -> bool:
    """Auto-send is a tenant's per-route opt-in, never for enterprise accounts or a likely-churn verdict, and
    never for a draft a person should read first: a verdict the TIER3 reviewers could not settle, HIGH
    severity, a draft quoting or resting on customer-authored text, any validation note on the verdict, or a
    tenant whose validation-failure banner is up."""
    if needs_review or severity == "HIGH" or quotes_customer or has_notes or failure_rate > BANNER_RATE:
        return False
    return bool(auto_send.get(route)) and classification != "likely_churn" and arr_cents < t.tier3_arr_cents
