"""The open factor math: four weighted factors, a total, thresholds, and the factor that pushed it across.

Pure functions, no I/O. Scores live in [-1, 1]: below zero pulls toward churn, above toward expansion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from schemas.evidence import FACTORS, EvidenceItem, Factor
from schemas.verdict import Classification, FactorBreakdown, FactorScore, Severity

DEFAULT_WEIGHTS: dict[Factor, float] = {
    "payment_history": 0.35,
    "usage_trend": 0.30,
    "champion_status": 0.20,
    "support_sentiment": 0.15,
}


@dataclass(frozen=True)
class Thresholds:
    expansion: float = 0.25  # total >= this -> expansion
    at_risk: float = -0.20  # total <= this -> at_risk
    likely_churn: float = -0.60  # total <= this -> likely_churn (calibrated: bench.judgement)
    enterprise_arr_cents: int = 50_000_00

    def as_dict(self) -> dict[str, float]:
        return {"expansion": self.expansion, "at_risk": self.at_risk, "likely_churn": self.likely_churn}


def check_weights(weights: Mapping[str, float]) -> dict[Factor, float]:
    """The four weights, each in [0, 1], summing to 1.0 — or a ValueError saying which rule broke."""
    missing = [f for f in FACTORS if f not in weights]
    extra = [k for k in weights if k not in FACTORS]
    if missing or extra:
        raise ValueError(f"weights must name exactly {', '.join(FACTORS)}; missing {missing}, unknown {extra}")
    out: dict[Factor, float] = {f: float(weights[f]) for f in FACTORS}
    bad = {f: w for f, w in out.items() if not 0.0 <= w <= 1.0}
    if bad:
        raise ValueError(f"each weight must be within [0, 1]: {bad}")
    total = sum(out.values())
    if abs(total - 1.0) > 1e-4:
        raise ValueError(f"weights must sum to 1.0, they sum to {total:.4f}")
    return out


def factor_scores(items: Iterable[EvidenceItem]) -> dict[Factor, tuple[float, list[str]]]:
    """Sum each factor's signals (clamped to [-1, 1]) and keep the source ids that carried them."""
    sums: dict[Factor, float] = {f: 0.0 for f in FACTORS}
    ids: dict[Factor, list[str]] = {f: [] for f in FACTORS}
    for item in items:
        sums[item.factor] += item.signal
        if item.signal != 0:
            ids[item.factor].append(item.source_id)
    return {f: (max(-1.0, min(1.0, sums[f])), ids[f]) for f in FACTORS}


DECISIVE_SIGNAL = -0.7  # an explicit statement of leaving: cancel at period end, cancel talk, deal lost, champion gone
CRM_AND_SLACK = ("hubspot:", "salesforce:", "slack:")


def churn_is_explicit(items: Iterable[EvidenceItem], b: FactorBreakdown) -> bool:
    """Likely-churn needs a source that says so, once the CRM or Slack inform the verdict: with four factors
    read, an account can sum below the threshold on many small troubles and still be only at risk
    (bench.judgement: 30 of 40 at-risk accounts otherwise). With billing and usage alone, the total decides.

    Asked of the sources, not of how many factors they informed: the usage connector's error spike informs
    support_sentiment, so billing and usage alone can inform three factors, and a fresh trouble must never
    soften a verdict."""
    read_crm_or_slack = any(sid.startswith(CRM_AND_SLACK) for r in b.factors for sid in r.evidence)
    return not read_crm_or_slack or any(i.signal <= DECISIVE_SIGNAL for i in items)


def classify_total(total: float, t: Thresholds, explicit: bool = True) -> Classification:
    if total <= t.likely_churn:
        return "likely_churn" if explicit else "at_risk"
    if total <= t.at_risk:
        return "at_risk"
    if total >= t.expansion:
        return "expansion"
    return "standard"


def severity_for(classification: Classification, arr_cents: int, t: Thresholds) -> Severity:
    enterprise = arr_cents >= t.enterprise_arr_cents
    if classification == "likely_churn":
        return "HIGH"
    if classification == "at_risk":
        return "HIGH" if enterprise else "MEDIUM"
    if classification == "expansion":
        return "MEDIUM" if enterprise else "LOW"
    return "LOW"


def breakdown(
    items: Iterable[EvidenceItem], weights: Mapping[Factor, float], t: Thresholds = Thresholds()
) -> FactorBreakdown:
    items = list(items)
    scores = factor_scores(items)
    rows = [
        FactorScore(factor=f, score=round(s, 4), weight=weights[f], contribution=round(s * weights[f], 4), evidence=ids)
        for f, (s, ids) in scores.items()
    ]
    total = round(sum(r.contribution for r in rows), 4)
    verdict = classify_total(total, t)  # at_risk and likely_churn are pushed by the same factor
    pushed_by: Factor | None = None
    if verdict == "expansion":
        top = max(rows, key=lambda r: r.contribution)
        pushed_by = top.factor if top.contribution > 0 else None
    elif verdict in ("at_risk", "likely_churn"):
        low = min(rows, key=lambda r: r.contribution)
        pushed_by = low.factor if low.contribution < 0 else None
    return FactorBreakdown(factors=rows, total=total, thresholds=t.as_dict(), pushed_by=pushed_by)


def abstain_reason(items: list[EvidenceItem], b: FactorBreakdown) -> str | None:
    """Thin or contradictory evidence: say so instead of guessing."""
    informed = [r for r in b.factors if r.evidence]
    if len(informed) < 2 and sum(1 for i in items if i.signal != 0) < 2:
        return f"thin_evidence: {len(informed)} factor(s) informed by the evidence; too little to judge"
    strong_pos = [r for r in b.factors if r.score >= 0.6]
    strong_neg = [r for r in b.factors if r.score <= -0.6]
    if strong_pos and strong_neg and abs(b.total) < 0.35:
        return (
            f"contradictory_evidence: {strong_pos[0].factor} says growth ({strong_pos[0].score:+.2f}) "
            f"while {strong_neg[0].factor} says risk ({strong_neg[0].score:+.2f})"
        )
    return None
