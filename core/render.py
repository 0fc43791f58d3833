"""The renderer: prose with typed references in, customer-ready text out. Every number, amount, date and name in
the text is filled here from the evidence, the factor math or the tenant's settings, in human form; the model
never types one. Pure.

References (the whole syntax; anything else in double braces is malformed):

    {{fact:<source id>#<field>}}   a fact of that item, e.g. {{fact:stripe:in_1Q…#days_late}} → "9 days"
    {{quote:<source id>}}          customer-authored text, verbatim, with who wrote it and when
    {{offer:<name>}}               one of the tenant's configured offers
    {{customer_name}} {{champion_name}} {{sender_name}} {{signature}}
    diary only: {{summary:<source id>}} {{math}} {{total}} {{factor:<factor>}} {{missing}}
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from core import facts
from schemas.evidence import EvidenceBundle, EvidenceItem, FactValue
from schemas.offers import EmailSettings, Offer
from schemas.verdict import FactorBreakdown

REF = re.compile(r"\{\{\s*([a-z_]+)(?::([^{}#]*?))?(?:#([A-Za-z0-9_]+))?\s*\}\}")
BRACES = re.compile(r"\{\{|\}\}|\{|\}")
Audience = Literal["email", "diary"]
NAMES = ("customer_name", "champion_name", "sender_name", "signature")
DIARY_ONLY = ("summary", "math", "total", "factor", "missing")
MONTHS = "January February March April May June July August September October November December".split()


@dataclass(frozen=True)
class Ref:
    start: int  # where the reference stands in the template
    end: int
    kind: str  # fact, quote, offer, customer_name, ...
    target: str = ""  # source id, offer name or factor
    key: str = ""  # the fact's field

    @property
    def token(self) -> str:
        return (
            "{{" + self.kind + (f":{self.target}" if self.target else "") + (f"#{self.key}" if self.key else "") + "}}"
        )


@dataclass
class RenderContext:
    bundle: EvidenceBundle
    customer_name: str = ""
    settings: EmailSettings = field(default_factory=EmailSettings)
    classification: str = "standard"
    route: str | None = None
    breakdown: FactorBreakdown | None = None


@dataclass
class Rendered:
    text: str
    spans: list[tuple[int, int]]  # the parts of `text` the renderer filled
    refs: list[Ref]
    items: dict[Ref, EvidenceItem]  # the evidence item each fact or quote reference resolved to
    problems: list[str]


def parse(template: str) -> tuple[list[Ref], list[str]]:
    refs = [
        Ref(m.start(), m.end(), m.group(1), (m.group(2) or "").strip(), m.group(3) or "")
        for m in REF.finditer(template)
    ]
    stray = REF.sub(" ", template)
    problems = ["a malformed reference (stray brace) in the text"] if BRACES.search(stray) else []
    return refs, problems


def human_number(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")


def human_date(value: str | dt.date, run_date: dt.date) -> str:
    d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return f"{d.day} {MONTHS[d.month - 1]}" + ("" if d.year == run_date.year else f" {d.year}")


def human(key: str, value: FactValue, run_date: dt.date) -> str:
    """A fact in the form a customer reads it; the unit word is the renderer's, so it cannot be mistyped."""
    spec = facts.FIELDS[key]
    if spec.unit in ("person", "label"):
        return str(value)
    if spec.unit == "date":
        return human_date(str(value), run_date)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} is not a number")
    n = abs(float(value)) if spec.direction == "signed" else float(value)
    one = n == 1
    if spec.unit == "usd":
        return ("$" + f"{n:,.2f}") if not n.is_integer() else f"${n:,.0f}"
    if spec.unit == "percent":
        return f"{human_number(n)}%"
    if spec.unit == "ratio":
        return f"{human_number(n)} times"
    noun = {"days": "day", "seats": "seat", "users": "active user"}.get(spec.unit) or spec.noun
    if not one and noun and not noun.endswith("s"):
        noun += "s"
    elif one and noun.endswith("s"):
        noun = noun[:-1]
    return f"{human_number(n)} {noun}".strip()


def offer_text(offer: Offer) -> str:
    m = human_number(offer.maximum)
    return {
        "discount": f"a discount of up to {m}% on your renewal",
        "credit": f"a credit of up to ${m}",
        "price_hold": f"your current price held for up to {m} months",
        "term": f"a renewal term of up to {m} months",
    }[offer.kind]


def champion(bundle: EvidenceBundle) -> str | None:
    """The champion's first name where the CRM knows it, and they have not left."""
    gone = {str(i.facts.get("contact")) for i in bundle.items if i.facts.get("left_company")}
    for i in bundle.items:
        name = i.facts.get("contact")
        if i.kind in facts.CHAMPION_KINDS and isinstance(name, str) and name.strip() and name not in gone:
            return name.split()[0]
    return None


def _quote(item: EvidenceItem, run_date: dt.date) -> str:
    where = "in our shared channel" if item.source_id.startswith("slack:") else "in a note to us"
    when = f" on {human_date(item.observed_on, run_date)}" if item.observed_on else ""
    text = next(str(item.facts[k]) for k in facts.TESTIMONY_KEYS if k in item.facts)
    return f"“{text}” (your team, {where}{when})"


def _math(b: FactorBreakdown) -> str:
    used = ", ".join(f"{r.factor.replace('_', ' ')} {r.score:+.2f}×{r.weight:.2f}" for r in b.factors if r.evidence)
    return f"weighted total {b.total:+.2f}" + (f" from {used}" if used else "")


def _fact(ref: Ref, ctx: RenderContext, audience: Audience) -> tuple[str, EvidenceItem | None, str | None]:
    items = ctx.bundle.by_id().get(ref.target)
    if not items:
        return "", None, f"{ref.token} names {ref.target}, which is not in this customer's evidence"
    spec = facts.field(ref.key)
    if spec is None:
        return "", None, f"{ref.token}: {ref.key} is not a renderable fact"
    having = [i for i in items if ref.key in i.facts and i.facts[ref.key] is not None]
    if not having:
        return "", None, f"{ref.token}: {ref.target} has no fact {ref.key}"
    # One object can carry several signals (a late invoice that also needed retries): show the one that speaks
    # for the verdict, else a neutral one, before one that speaks against it.
    way = {"expansion": 1, "at_risk": -1, "likely_churn": -1}.get(ctx.classification, 0)
    item = sorted(having, key=lambda i: -1 if i.signal * way > 0 else 0 if i.signal == 0 else 1)[0]
    if audience == "email" and not facts.customer_may_see(ref.key, item.source_id):
        return "", item, f"{ref.token}: {ref.key} is internal and may not be shown to the customer"
    try:
        return human(ref.key, item.facts[ref.key], ctx.bundle.run_date), item, None
    except ValueError as e:
        return "", item, f"{ref.token}: {e}"


def _one(ref: Ref, ctx: RenderContext, audience: Audience) -> tuple[str, EvidenceItem | None, str | None]:
    s = ctx.settings
    if ref.kind in DIARY_ONLY and audience == "email":
        return "", None, f"{ref.token} is for the internal diary, not the customer's email"
    if ref.kind == "fact":
        return _fact(ref, ctx, audience)
    if ref.kind in ("quote", "summary"):
        items = ctx.bundle.by_id().get(ref.target)
        if not items:
            return "", None, f"{ref.token} names {ref.target}, which is not in this customer's evidence"
        if ref.kind == "summary":
            return "; ".join(i.summary for i in items if not ref.key or i.kind == ref.key), items[0], None
        said = [
            i
            for i in items
            if facts.is_testimony(i.source_id, i.facts) and any(k in i.facts for k in facts.TESTIMONY_KEYS)
        ]
        if not said:
            return "", None, f"{ref.token}: {ref.target} carries no customer-authored text to quote"
        return _quote(said[0], ctx.bundle.run_date), said[0], None
    if ref.kind == "offer":
        offer = next((o for o in s.offers if o.name == ref.target), None)
        if offer is None:
            return "", None, f"{ref.token}: the tenant has no offer named {ref.target!r}"
        if ctx.classification not in offer.verdicts or (ctx.route and ctx.route not in offer.routes):
            return "", None, f"{ref.token} is not configured for {ctx.classification} drafts on route {ctx.route}"
        return offer_text(offer), None, None
    if ref.kind == "customer_name":
        return ctx.customer_name, None, None if ctx.customer_name else f"{ref.token}: no customer name is known"
    if ref.kind == "champion_name":
        name = champion(ctx.bundle)
        return name or "", None, None if name else f"{ref.token}: the CRM names no current champion to greet"
    if ref.kind in ("sender_name", "signature"):
        sender = s.sender_name or "The renewals team"
        return (s.signature or sender) if ref.kind == "signature" else sender, None, None
    b = ctx.breakdown
    if ref.kind == "missing":
        return "; ".join(f"{k} ({v})" for k, v in sorted(ctx.bundle.missing.items())) or "none", None, None
    if b is None:
        return "", None, f"{ref.token}: no factor math to render"
    if ref.kind == "math":
        return _math(b), None, None
    if ref.kind == "total":
        return f"{b.total:+.2f}", None, None
    if ref.kind == "factor":
        row = next((r for r in b.factors if r.factor == ref.target), None)
        if row is None:
            return "", None, f"{ref.token}: no factor {ref.target!r}"
        return f"{ref.target.replace('_', ' ')} {row.score:+.2f}×{row.weight:.2f}", None, None
    return "", None, f"{ref.token}: unknown reference kind {ref.kind!r}"


def render(template: str, ctx: RenderContext, audience: Audience = "email") -> Rendered:
    refs, problems = parse(template)
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    items: dict[Ref, EvidenceItem] = {}
    pos = size = 0
    for ref in refs:
        text, item, problem = _one(ref, ctx, audience)
        if problem:
            problems.append(problem)
        if item is not None:
            items[ref] = item
        out.append(template[pos : ref.start])
        size += ref.start - pos
        out.append(text)
        spans.append((size, size + len(text)))
        size += len(text)
        pos = ref.end
    out.append(template[pos:])
    return Rendered("".join(out), spans, refs, items, problems)
