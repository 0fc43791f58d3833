"""The offline model: factor math and templates. Deterministic, free, and honest about its citations.

It is the embedded default (the system runs with no API key) and the fallback when a cost cap is reached.
"""

from __future__ import annotations

from core.factors import DEFAULT_WEIGHTS, Thresholds, abstain_reason, churn_is_explicit, classify_total, severity_for
from core.model_spec import OFFLINE_NAME
from llm.base import CustomerContext, ModelAnswer
from schemas.evidence import EvidenceItem
from schemas.verdict import BatchVerdicts, DraftEmail, VerdictRow

NAME = OFFLINE_NAME
_LABEL = {"expansion": "expansion", "standard": "standard", "at_risk": "at risk", "likely_churn": "likely churn"}


def _strongest(items: list[EvidenceItem], negative: bool, n: int = 3) -> list[EvidenceItem]:
    picked = [i for i in items if (i.signal < 0 if negative else i.signal > 0)]
    return sorted(picked, key=lambda i: (abs(i.signal), i.source_id), reverse=True)[:n]


def _diary(
    ctx: CustomerContext, classification: str, severity: str, reasons: list[EvidenceItem], abstain: str | None
) -> str:
    b = ctx.breakdown
    math = ", ".join(f"{r.factor.replace('_', ' ')} {r.score:+.2f}×{r.weight:.2f}" for r in b.factors if r.evidence)
    parts = [
        f"{_LABEL[classification].capitalize()} ({severity}); weighted total {b.total:+.2f}"
        + (f" from {math}." if math else ".")
    ]
    if b.pushed_by:
        parts.append(f"{b.pushed_by.replace('_', ' ').capitalize()} carried it across the threshold.")
    parts += [f"{i.summary} [{i.source_id}]." for i in reasons]
    if abstain:
        parts.append(f"Abstained: {abstain}.")
    if ctx.bundle.missing:
        parts.append("Missing sources: " + "; ".join(f"{k} ({v})" for k, v in sorted(ctx.bundle.missing.items())) + ".")
    if ctx.previous:
        last = ctx.previous[0]
        if last.classification == classification and last.severity == severity:
            parts.append(f"Unchanged since {last.run_date.isoformat()}.")
        else:
            parts.append(f"Was {_LABEL[last.classification]} ({last.severity}) on {last.run_date.isoformat()}.")
    else:
        parts.append("First entry for this customer.")
    return " ".join(parts)[:2000]


def _email(ctx: CustomerContext, classification: str, reasons: list[EvidenceItem]) -> DraftEmail | None:
    if not reasons:
        return None
    name = ctx.profile.name
    lines = [f"- {i.summary}" for i in reasons]
    if classification == "expansion":
        subject = f"{name}: room to grow with us"
        opening = (
            "Your team's use of the product has grown, and we would like to make sure your plan keeps up. "
            "Here is what we noticed:"
        )
        closing = "Would a short call this week to look at options that fit your growth be useful?"
    else:
        subject = f"{name}: can we help before your renewal?"
        opening = "We want your renewal to be an easy decision, and a few things suggest we could be doing better:"
        closing = "Could we find time to talk through what would make the next term work for you?"
    body = "\n".join(["Hello,", "", opening, *lines, "", closing, "", "Best regards"])
    return DraftEmail(subject=subject, body=body, anchors=list(dict.fromkeys(i.source_id for i in reasons)))


DEFAULT_THRESHOLDS = Thresholds()


def verdict_for(ctx: CustomerContext, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> VerdictRow:
    b = ctx.breakdown
    items = ctx.bundle.items
    abstain = abstain_reason(items, b)
    classification = "standard" if abstain else classify_total(b.total, thresholds, churn_is_explicit(items, b))
    severity = severity_for(classification, ctx.profile.arr_cents, thresholds)
    negative = classification in ("at_risk", "likely_churn")
    reasons = _strongest(items, negative=negative) if classification != "standard" else []
    cited = sorted({i.source_id for i in reasons} | {sid for r in b.factors for sid in r.evidence})
    email = _email(ctx, classification, reasons) if classification != "standard" else None
    if abstain:
        action = "internal_alert"
    elif classification in ("at_risk", "likely_churn"):
        action = "send_save_email"
    elif classification == "expansion":
        action = "send_upsell_email"
    else:
        action = "none"
    return VerdictRow(
        customer_id=ctx.profile.customer_id,
        classification=classification,
        severity=severity,
        cited_source_ids=cited,
        diary=_diary(ctx, classification, severity, reasons, abstain),
        recommended_action=action,
        email=email,
        abstain_reason=abstain,
    )


class OfflineModel:
    name = NAME

    async def classify(self, batch: list[CustomerContext]) -> ModelAnswer:
        return ModelAnswer(verdicts=BatchVerdicts(rows=[verdict_for(c) for c in batch]), model=NAME)


__all__ = ["DEFAULT_WEIGHTS", "OfflineModel", "verdict_for"]
