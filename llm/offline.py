"""The offline model: factor math and templates. Deterministic, free, and honest about its citations.

It is the embedded default (the system runs with no API key) and the fallback when a cost cap is reached. It
writes what every model writes: prose with references (core/render.py), never a number of its own.
"""

from __future__ import annotations

from core.claims import unquotable
from core.factors import DEFAULT_WEIGHTS, Thresholds, judge, severity_for
from core.model_spec import OFFLINE_NAME
from core.render import champion, parse
from llm.base import CustomerContext, ModelAnswer
from schemas.evidence import EvidenceItem
from schemas.verdict import Action, BatchVerdicts, DraftEmail, VerdictRow

NAME = OFFLINE_NAME
_LABEL = {"expansion": "expansion", "standard": "standard", "at_risk": "at risk", "likely_churn": "likely churn"}
# One customer-ready sentence per evidence kind: prose plus references ({sid} is the item's source id). A kind
# not here (CRM deal stages, internal pipeline) is never a line of an email; it stays in the diary.
LINES: dict[str, str | tuple[str, ...]] = {  # a tuple: the first whose facts the item has
    "invoice_paid_late": (
        "Your invoice due on {{fact:{sid}#due_date}} for {{fact:{sid}#amount_usd}} was paid "
        "{{fact:{sid}#days_late}} late.",
        "Your invoice for {{fact:{sid}#amount_usd}} was paid {{fact:{sid}#days_late}} late.",
        "A recent invoice was paid {{fact:{sid}#days_late}} late.",
    ),
    "payment_attempts_failed": "Your invoice for {{fact:{sid}#amount_usd}} needed {{fact:{sid}#attempt_count}} "
    "before it went through.",
    "invoice_past_due": "Your invoice for {{fact:{sid}#amount_usd}} is now {{fact:{sid}#days_overdue}} past due.",
    "invoice_uncollectible": "Your invoice for {{fact:{sid}#amount_usd}} has remained unpaid.",
    "cancel_at_period_end": "Your subscription is set to end on {{fact:{sid}#renewal_date}}.",
    "subscription_past_due": "Your subscription shows a payment still outstanding.",
    "seats_contracted": "Your plan went from {{fact:{sid}#seats_before}} to {{fact:{sid}#seats_now}}, a drop of "
    "{{fact:{sid}#change_pct}}.",
    "seats_grew": "Your team grew from {{fact:{sid}#seats_before}} to {{fact:{sid}#seats_now}}, a rise of "
    "{{fact:{sid}#change_pct}}.",
    "plan_downgraded": "Your plan's unit price moved from {{fact:{sid}#unit_price_before_usd}} to "
    "{{fact:{sid}#unit_price_now_usd}} when you changed plans.",
    "plan_upgraded": "You moved to a plan priced at {{fact:{sid}#unit_price_now_usd}} a unit, up from "
    "{{fact:{sid}#unit_price_before_usd}}.",
    "usage_fell": "Daily activity on your account fell from {{fact:{sid}#active_users_before}} to "
    "{{fact:{sid}#active_users_now}}, a drop of {{fact:{sid}#change_pct}}.",
    "usage_grew": "Daily activity on your account grew from {{fact:{sid}#active_users_before}} to "
    "{{fact:{sid}#active_users_now}}, a rise of {{fact:{sid}#change_pct}}.",
    "low_utilisation": "On an average day this week, {{fact:{sid}#active_users}} used the "
    "{{fact:{sid}#licensed_seats}} in your plan: {{fact:{sid}#utilisation_pct}} of what you pay for.",
    "near_seat_limit": "On an average day this week, {{fact:{sid}#active_users}} used the "
    "{{fact:{sid}#licensed_seats}} in your plan: {{fact:{sid}#utilisation_pct}} of what it includes.",
    "error_spike": "Your team ran into {{fact:{sid}#errors_2d}} recently, {{fact:{sid}#spike_ratio}} the usual "
    "rate, and we are sorry for it.",
    "champion_quiet": "It has been {{fact:{sid}#days_since_contact}} since we last spoke with your team.",
    "champion_quiet_in_slack": "We have not heard from your team in our shared channel for {{fact:{sid}#days_quiet}}.",
    "champion_left": "We understand {{fact:{sid}#contact}} has moved on, and we want to keep things smooth.",
    "contact_left": "We understand {{fact:{sid}#contact}} has moved on, and we want to keep things smooth.",
    "champion_engaged": "It has been good to work with {{fact:{sid}#contact}} lately.",
    "payments_on_time": "Your last {{fact:{sid}#invoices_on_time}} were all paid on time, thank you.",
    "question_unanswered": "A question from your team has waited {{fact:{sid}#days_waiting}} for our reply: "
    "{{quote:{sid}}}",
}
QUOTED = "Your team wrote to us, and we took note: {{quote:{sid}}}"  # any other customer message


def _line(item: EvidenceItem) -> str | None:
    """The item's sentence, if it has one whose every fact the item carries."""
    options = LINES.get(item.kind, ())
    if "text" in item.facts and item.source_id.startswith("slack:"):
        if unquotable(item):  # a message we cannot quote as written is evidence for the verdict, not a line
            return None
        options = options or QUOTED
    for option in (options,) if isinstance(options, str) else options:
        line = option.replace("{sid}", item.source_id)
        if all(item.facts.get(r.key) is not None for r in parse(line)[0] if r.kind == "fact"):
            return line
    return None


def _strongest(items: list[EvidenceItem], negative: bool, n: int = 3) -> list[EvidenceItem]:
    picked = [i for i in items if (i.signal < 0 if negative else i.signal > 0)]
    return sorted(picked, key=lambda i: (abs(i.signal), i.source_id), reverse=True)[:n]


def _diary(
    ctx: CustomerContext, classification: str, severity: str, reasons: list[EvidenceItem], abstain: str | None
) -> str:
    """Internal: source ids and factor math may show, but every figure is a reference the renderer fills."""
    b = ctx.breakdown
    parts = [f"{_LABEL[classification].capitalize()} ({severity}); {{{{math}}}}."]
    if b.pushed_by:
        parts.append(f"{b.pushed_by.replace('_', ' ').capitalize()} carried it across the threshold.")
    parts += [f"{{{{summary:{i.source_id}#{i.kind}}}}} [{i.source_id}]." for i in reasons]
    if abstain:
        parts.append(f"Abstained: {abstain.split(':')[0].replace('_', ' ')}.")
    if ctx.bundle.missing:
        parts.append("Missing sources: {{missing}}.")
    if ctx.previous:
        last = ctx.previous[0]
        if last.classification == classification and last.severity == severity:
            parts.append("Unchanged since the previous entry.")
        else:
            parts.append(f"Was {_LABEL[last.classification]} ({last.severity}) in the previous entry.")
    else:
        parts.append("No earlier entry for this customer.")
    return " ".join(parts)[:2000]


def _email(ctx: CustomerContext, classification: str, candidates: list[EvidenceItem]) -> DraftEmail | None:
    """A line for each of the (at most three) strongest items that point the verdict's way and can be told. When
    none can (the verdict rests on internal evidence such as a CRM stage), a short note that claims nothing,
    anchored on what moved the verdict: the operator still gets a draft to send, edit or skip."""
    told = [(i, line) for i in candidates if (line := _line(i))][:3]
    lines = {i.source_id + i.kind: (i, line) for i, line in told}
    if not candidates:
        return None
    greeting = "Hi {{champion_name}}," if champion(ctx.bundle) else "Hello {{customer_name}} team,"
    if classification == "expansion":
        subject = "{{customer_name}}: room to grow with us"
        opening = (
            "Your team's use of the product has grown, and we would like to make sure your plan keeps up with "
            "you. Here is what we noticed:"
            if lines
            else "We would love to hear how your plans are shaping up, and to make sure your plan keeps up with you."
        )
        closing = "Would a short call this week to look at options that fit your growth be useful?"
    else:
        subject = "{{customer_name}}: can we help before your renewal?"
        opening = (
            "We want your renewal to be an easy decision, and a few things suggest we could be doing better:"
            if lines
            else "We want your renewal to be an easy decision, and we would like to hear how things are going."
        )
        closing = "Could we find time to talk through what would make the next term work for you?"
    offer = next((o for o in ctx.offers if classification in o.verdicts), None)
    middle = [f"If it helps, we can offer {{{{offer:{offer.name}}}}}.", ""] if offer else []
    body = "\n".join(
        [
            greeting,
            "",
            opening,
            "",
            *([f"- {line}" for _, line in lines.values()] + [""] if lines else []),
            *middle,
            closing,
            "",
            "Best regards,",
            "{{signature}}",
        ]
    )
    anchored = [i for i, _ in lines.values()] or candidates[:1]
    return DraftEmail(subject=subject, body=body, anchors=list(dict.fromkeys(i.source_id for i in anchored)))


DEFAULT_THRESHOLDS = Thresholds()


def verdict_for(ctx: CustomerContext, thresholds: Thresholds | None = None) -> VerdictRow:
    """The verdict by the factor math, against the thresholds the breakdown was judged by (the customer's weight
    profile's, core/profiles.py) unless others are given."""
    b = ctx.breakdown
    t, d = b.thresholds, DEFAULT_THRESHOLDS
    thresholds = thresholds or Thresholds(
        expansion=t.get("expansion", d.expansion),
        at_risk=t.get("at_risk", d.at_risk),
        likely_churn=t.get("likely_churn", d.likely_churn),
    )
    items = ctx.bundle.items
    classification, abstain = judge(items, b, thresholds, ctx.bundle.run_date)
    severity = severity_for(classification, ctx.profile.arr_cents, thresholds)
    negative = classification in ("at_risk", "likely_churn")
    reasons = _strongest(items, negative=negative) if classification != "standard" else []
    email = _email(ctx, classification, _strongest(items, negative, len(items))) if reasons else None
    cited = sorted(
        {i.source_id for i in reasons}
        | {sid for r in b.factors for sid in r.evidence}
        | set(email.anchors if email else [])
    )
    action: Action
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
