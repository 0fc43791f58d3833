"""Anti-fabrication: every claim cites this customer's own evidence, and every number is rendered from it.

Runs on every model answer, with the bundle as context, before anything is stored. A verdict citing outside its
bundle, or a strong verdict citing nothing that points its way, is demoted; an email whose template fails the
claim checks (core/claims.py) is dropped; a diary that does is withheld. Nothing is repaired. Pure.

`numbers_in` and `evidence_numbers` are the older number check, still used by the health briefing's reading of
a model's one-line recommendation (core/health.py), which is internal and has no template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core import claims, facts
from core.claims import SOURCE_ID
from core.render import RenderContext, champion, human, offer_text, render
from schemas.evidence import EvidenceBundle, EvidenceItem
from schemas.offers import EmailSettings
from schemas.verdict import SOURCE_VALIDATION_FAILED, DraftEmail, FactorBreakdown, RenderedEmail, VerdictRow

__all__ = ["SOURCE_ID", "email_problems", "render_email", "validate_row"]
ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
NUMBER = re.compile(r"(?<![A-Za-z0-9_])\d[\d,]*(?:\.\d+)?")
WITHHELD = "The model's diary paragraph was withheld: it failed the claim checks (see the verdict's notes)."


def cited_in_text(text: str) -> set[str]:
    return set(SOURCE_ID.findall(text))


def numbers_in(text: str) -> set[float]:
    out: set[float] = set()
    # A date is one claim, not three numbers: "2026-10-01" must not license "10 days" or "1 seat".
    text = ISO_DATE.sub(lambda m: m.group(1) + m.group(2) + m.group(3), text)
    for tok in NUMBER.findall(text):
        tok = tok.rstrip(",")
        try:
            out.add(float(tok.replace(",", "")))
        except ValueError:
            continue
    return out


def evidence_numbers(items: Iterable[EvidenceItem]) -> set[float]:
    found: set[float] = set()
    for item in items:
        found |= numbers_in(item.summary)
        for value in item.facts.values():
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int | float):
                found.add(float(value))
                found.add(float(round(value, 2)))
            else:
                found |= numbers_in(str(value))
    return found


def context(
    bundle: EvidenceBundle,
    customer_name: str = "",
    classification: str = "standard",
    *,
    settings: EmailSettings | None = None,
    route: str | None = None,
    breakdown: FactorBreakdown | None = None,
) -> RenderContext:
    return RenderContext(bundle, customer_name, settings or EmailSettings(), classification, route, breakdown)


def email_problems(
    email: DraftEmail,
    bundle: EvidenceBundle,
    customer_name: str = "",
    *,
    classification: str = "standard",
    settings: EmailSettings | None = None,
    route: str | None = None,
) -> list[str]:
    """Why an email may not be sent as written: each problem of its subject and body templates, named."""
    ctx = context(bundle, customer_name, classification, settings=settings, route=route)
    subject, p1 = claims.check(email.subject, ctx, "email")
    body, p2 = claims.check(email.body, ctx, "email")
    if "\n" in subject.text:
        p1.append("the subject spans more than one line")
    used = {**subject.items, **{r: i for r, i in body.items.items() if r not in subject.items}}
    found = [f"subject: {p}" for p in p1] + p2 + claims.anchor_problems(email.anchors, used, ctx)
    return list(dict.fromkeys(found))


def render_email(email: DraftEmail, ctx: RenderContext) -> RenderedEmail:
    """The customer's text of a template that passed `email_problems`; signed with the tenant's signature."""
    subject, body = render(email.subject, ctx), render(email.body, ctx)
    text = body.text.rstrip()
    if "{{signature}}" not in email.body.replace(" ", ""):
        text += "\n\n" + render("{{signature}}", ctx).text
    known = ctx.bundle.by_id()
    testimony = any(r.kind == "quote" for r in body.refs) or any(
        facts.is_testimony(i.source_id, i.facts) for a in email.anchors for i in known.get(a, [])
    )
    return RenderedEmail(subject=subject.text.strip(), body=text + "\n", quotes_customer=testimony)


def references(anchors: list[str], ctx: RenderContext) -> list[dict[str, str]]:
    """What an operator may insert into an edit: each renderable fact of the anchored evidence, its quotable
    customer text, the names, and each offer this draft's verdict and route may use; with what each renders to."""
    out = [{"token": "{{customer_name}}", "label": "the customer's name", "rendered": ctx.customer_name}]
    if name := champion(ctx.bundle):
        out.append({"token": "{{champion_name}}", "label": "the champion's first name", "rendered": name})
    out.append({"token": "{{signature}}", "label": "your signature", "rendered": render("{{signature}}", ctx).text})
    known = ctx.bundle.by_id()
    for sid in anchors:
        for item in known.get(sid, []):
            for key, value in item.facts.items():
                if value is None or not facts.customer_may_see(key, sid):
                    continue
                label = f"{item.kind.replace('_', ' ')}: {key.replace('_', ' ')}"
                shown = human(key, value, ctx.bundle.run_date)
                out.append({"token": f"{{{{fact:{sid}#{key}}}}}", "label": label, "rendered": shown})
            if "text" in item.facts and not claims.unquotable(item):
                token = f"{{{{quote:{sid}}}}}"
                out.append(
                    {
                        "token": token,
                        "label": f"{item.kind.replace('_', ' ')}: quote",
                        "rendered": render(token, ctx).text,
                    }
                )
    for offer in ctx.settings.offers:
        if ctx.classification in offer.verdicts and (ctx.route is None or ctx.route in offer.routes):
            out.append(
                {"token": f"{{{{offer:{offer.name}}}}}", "label": f"offer: {offer.name}", "rendered": offer_text(offer)}
            )
    return list({r["token"]: r for r in out}.values())


def render_diary(diary: str, ctx: RenderContext) -> str:
    return render(diary, ctx, "diary").text


def _demote(row: VerdictRow, known: set[str], why: str, diary: str) -> tuple[VerdictRow, list[str]]:
    return VerdictRow(
        customer_id=row.customer_id,
        classification="standard",
        severity="LOW",
        cited_source_ids=sorted(set(row.cited_source_ids) & known),
        diary=diary,
        recommended_action="internal_alert",
        email=None,
        abstain_reason=SOURCE_VALIDATION_FAILED,
    ), [f"{SOURCE_VALIDATION_FAILED}: {why}"]


def validate_row(
    row: VerdictRow,
    bundle: EvidenceBundle,
    customer_name: str = "",
    *,
    settings: EmailSettings | None = None,
    route: str | None = None,
    breakdown: FactorBreakdown | None = None,
) -> tuple[VerdictRow, list[str]]:
    """Return the row as it may be stored, and notes saying what was demoted, dropped or withheld and why.
    A clean row comes back unchanged (its texts are templates: render them with `render_email`/`render_diary`)."""
    known = bundle.source_ids()
    if row.customer_id != bundle.customer_id:
        raise ValueError(f"row for {row.customer_id} validated against the bundle of {bundle.customer_id}")
    cited = set(row.cited_source_ids) | cited_in_text(row.diary)
    unknown = sorted(cited - known)
    if unknown:
        return _demote(
            row,
            known,
            f"cited {', '.join(unknown)}, not in this customer's evidence",
            f"The model's reading was rejected: it cited {', '.join(unknown)}, which this customer's "
            f"evidence does not contain. Verdict held at standard until an operator looks.",
        )
    way = claims.direction(row.classification)
    if way and not any(claims.points(i, way) for i in bundle.items if i.source_id in cited):
        label = row.classification.replace("_", " ")
        return _demote(
            row,
            known,
            f"a {row.classification} verdict cites no evidence pointing that way",
            f"The model's reading was rejected: it called this account {label} without citing evidence that "
            f"points that way. Verdict held at standard until an operator looks.",
        )
    ctx = context(bundle, customer_name, row.classification, settings=settings, route=route, breakdown=breakdown)
    notes: list[str] = []
    _, diary_problems = claims.check(row.diary, ctx, "diary")
    if diary_problems:
        ids = " ".join(f"[{s}]" for s in sorted(cited))
        row = row.model_copy(update={"diary": f"{WITHHELD} Cited: {ids}." if ids else WITHHELD})
        notes.append("diary withheld: " + "; ".join(diary_problems))
    if row.email is not None:
        problems = email_problems(
            row.email, bundle, customer_name, classification=row.classification, settings=settings, route=route
        )
        if problems:
            row = row.model_copy(update={"email": None, "recommended_action": "internal_alert"})
            notes.append("email dropped: " + "; ".join(problems))
    return row, notes
