"""The fabrication corpus: realistic evidence bundles, rows that lie about them, an honest twin for each.

Bundles carry the summaries and facts the connectors write (Stripe, HubSpot, Salesforce, Slack, usage), so
the ids and numbers a model could misquote have their real shapes. Deterministic for a seed. bench.cost reads
its customers from here too."""

from __future__ import annotations

import datetime as dt
import random
import re
import string
from dataclasses import dataclass
from typing import Any, Literal

from core.citations import validate_row
from core.factors import DEFAULT_WEIGHTS, breakdown
from llm.base import CustomerContext, PreviousEntry
from schemas.evidence import CustomerProfile, EvidenceBundle, EvidenceItem
from schemas.verdict import SOURCE_VALIDATION_FAILED, DraftEmail, VerdictRow

RUN = dt.date(2026, 11, 22)
Expect = Literal["demoted", "email_dropped", "clean"]
# What validate_row must do with a fabricated row of each category.
EXPECT: dict[str, Expect] = {
    "unknown_id": "demoted",
    "near_miss_char": "demoted",
    "near_miss_prefix": "demoted",
    "near_miss_truncated": "demoted",
    "cross_customer_id": "demoted",
    "diary_only_id": "demoted",
    "invented_number": "email_dropped",
    "cross_customer_number": "email_dropped",
    "missing_anchor": "email_dropped",
    "email_inline_unknown_id": "email_dropped",
    # Probes beyond the brief, kept apart because they find gaps (see tests/test_fabrication.py):
    "case_variant_id": "demoted",
    "number_from_a_date": "email_dropped",
    "number_from_an_id": "email_dropped",
}
PROBES = ("case_variant_id", "number_from_a_date", "number_from_an_id")


@dataclass(frozen=True)
class Case:
    category: str
    bad: bool
    row: VerdictRow
    ctx: CustomerContext
    note: str  # what was changed, for a failure message

    @property
    def expect(self) -> Expect:
        return EXPECT[self.category] if self.bad else "clean"


def _r(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


# ---- realistic evidence, as the connectors write it --------------------------------------------------------


def evidence(rng: random.Random, cus: str, what: str) -> EvidenceItem:
    """One item of the kind `what`, with the summary and facts its connector writes."""
    inv, when, sign = "in_1Q" + _r(rng, 22), RUN - dt.timedelta(days=rng.randint(1, 30)), rng.choice([-1, 1])
    if what == "invoice":
        amount, late, due = round(rng.uniform(900, 60000), 2), rng.randint(6, 58), when - dt.timedelta(30)
        made = (
            f"stripe:{inv}",
            "invoice_paid_late",
            "payment_history",
            -0.5,
            f"Invoice {inv} for ${amount:,.2f} was paid {late} days late",
            {"amount_usd": amount, "days_late": late, "due_date": due.isoformat()},
        )
    elif what == "attempts":
        n, amount = rng.randint(3, 6), round(rng.uniform(900, 60000), 2)
        made = (
            f"stripe:{inv}",
            "payment_attempts_failed",
            "payment_history",
            -0.3,
            f"Invoice {inv} needed {n} payment attempts",
            {"attempt_count": n, "failed_attempts": n - 1, "amount_usd": amount},
        )
    elif what == "seats":
        q0 = rng.randint(15, 400)
        q1 = max(3, q0 + sign * rng.randint(q0 // 8 + 2, q0 // 2 + 3))
        change = round((q1 - q0) * 100 / q0)
        made = (
            f"stripe:sub_1Q{_r(rng, 22)}",
            "seats_grew" if q1 > q0 else "seats_contracted",
            "usage_trend",
            0.5 if q1 > q0 else -0.5,
            f"Seats went from {q0} to {q1} ({change:+d}%) between invoice {inv} and in_1Q{_r(rng, 22)}",
            {"seats_before": q0, "seats_now": q1, "change_pct": change},
        )
    elif what == "usage":
        before = rng.randint(40, 900)
        now = max(2, before + sign * rng.randint(before // 6 + 2, before // 2 + 3))
        pct = round((now - before) * 100 / before)
        made = (
            f"usage:{cus}:30d",
            "active_users_changed",
            "usage_trend",
            0.4 if now > before else -0.6,
            f"Active users went from {before} to {now} ({pct:+d}%) over 30 days",
            {"active_users_before": before, "active_users": now, "change_pct": pct},
        )
    elif what == "deal":
        days, amount = rng.randint(12, 75), rng.randrange(6000, 240000, 500)
        made = (
            f"hubspot:deal:{rng.randint(10000, 99999999)}",
            "renewal_deal_stalled",
            "champion_status",
            -0.4,
            f"The renewal deal (${amount:,}) has sat in Negotiation for {days} days",
            {"amount_usd": amount, "days_in_stage": days, "stage": "negotiation"},
        )
    elif what == "ticket":
        days = rng.randint(4, 40)
        topic = rng.choice(["SSO login failures", "CSV export timeouts", "webhook retries", "invoices"])
        made = (
            f"hubspot:ticket:{rng.randint(100000, 9999999)}",
            "ticket_open_long",
            "support_sentiment",
            -0.3,
            f"Ticket about {topic} has been open for {days} days",
            {"days_open": days, "priority": "high", "topic": topic},
        )
    elif what == "opportunity":
        amount, prob = rng.randrange(10000, 400000, 250), rng.choice([20, 40, 60, 75, 90])
        close = (RUN + dt.timedelta(days=rng.randint(14, 90))).isoformat()
        made = (
            f"salesforce:opportunity:006{_r(rng, 15)}",
            "renewal_opportunity",
            "champion_status",
            0.3 if prob >= 60 else -0.2,
            f"Renewal opportunity for ${amount:,} at {prob}% probability, closing {close}",
            {"amount_usd": amount, "probability_pct": prob, "close_date": close},
        )
    else:  # a Slack message from the champion
        channel = "C0" + _r(rng, 7, string.ascii_uppercase + string.digits)
        ts = f"17{rng.randint(10**7, 10**8 - 1)}.{rng.randint(0, 999999):06d}"
        quote = rng.choice(
            [
                "we are evaluating alternatives",
                "our VP wants a cheaper plan",
                "the new dashboards saved us hours",
                "can we add the analytics team?",
            ]
        )
        negative = "alternatives" in quote or "cheaper" in quote
        made = (
            f"slack:{channel}:{ts}",
            "champion_message",
            "champion_status",
            -0.6 if negative else 0.5,
            f'The champion wrote in the shared channel: "{quote}"',
            {"sentiment": -0.7 if negative else 0.6},
        )
    sid, kind, factor, signal, summary, facts = made
    return EvidenceItem(
        source_id=sid, kind=kind, signal=signal, summary=summary, observed_on=when, factor=factor, facts=facts
    )  # type: ignore[arg-type]


SAY = {  # kind -> (the fact a misquote replaces, the email line: each {fact} is a reference to it)
    "invoice_paid_late": ("days_late", "Your invoice for {amount_usd} was paid {days_late} late."),
    "payment_attempts_failed": ("attempt_count", "Your last invoice took {attempt_count}."),
    "seats_contracted": ("seats_now", "Your plan went from {seats_before} to {seats_now}."),
    "active_users_changed": ("active_users", "Your active team went from {active_users_before} to {active_users}."),
    "ticket_open_long": ("days_open", "Your ticket about {topic} has been open for {days_open}."),
}
UNIT = {"days_late": "days", "attempt_count": "payment attempts", "seats_now": "seats", "days_open": "days"}


def sentence(item: EvidenceItem, **override: Any) -> str:
    """The item's email line: every fact a reference, except `override`s, typed as a model that misquotes would
    (the number and its unit)."""
    refs = {k: "{{fact:" + item.source_id + "#" + k + "}}" for k in item.facts}
    typed = {k: f"{v:,} {UNIT.get(k, '')}".strip() for k, v in override.items()}
    return SAY[item.kind][1].format(**{**refs, **typed})


def customer(rng: random.Random, i: int) -> CustomerContext:
    cus = "cus_" + _r(rng, 14)
    kinds = ["invoice", "usage", "slack"] + rng.sample(
        ["attempts", "seats", "deal", "ticket", "opportunity", "invoice", "usage"], rng.randint(2, 6)
    )
    items: list[EvidenceItem] = []
    for item in (evidence(rng, cus, k) for k in kinds):  # a second 30-day usage window is the same object
        items += [] if item.source_id in {i.source_id for i in items} else [item]
    name = rng.choice(["Acme 360", "Northwind", "Globex 2000", "Initech", "Umbrella Labs", "Hooli 42"])
    profile = CustomerProfile(
        tenant_id="t-fab",
        customer_id=cus,
        name=f"{name} #{i}" if i % 3 else name,
        email=f"ops@{cus.lower()}.example",
        contract=rng.choice(["annual", "monthly"]),
        arr_cents=rng.randrange(6_000_00, 300_000_00, 100),
        renewal_date=RUN + dt.timedelta(days=40),
    )
    paragraph = f"Standard (LOW); nothing moved [{items[0].source_id}]. Unchanged."
    items.append(  # so every customer has a line a save email can tell
        EvidenceItem(
            source_id=f"stripe:in_1Q{_r(rng, 22)}",
            kind="invoice_paid_late",
            factor="payment_history",
            signal=-0.2,
            summary="An invoice was paid late",
            facts={"amount_usd": round(rng.uniform(900, 60000), 2), "days_late": rng.randint(6, 58)},
            observed_on=RUN - dt.timedelta(days=9),
        )
    )
    previous = [
        PreviousEntry(
            run_date=RUN - dt.timedelta(days=d), classification="standard", severity="LOW", paragraph=paragraph
        )
        for d in (1, 2, 3)
    ]
    bundle = EvidenceBundle(tenant_id="t-fab", customer_id=cus, run_date=RUN, items=items)
    return CustomerContext(
        profile=profile, bundle=bundle, breakdown=breakdown(items, DEFAULT_WEIGHTS), previous=previous
    )


# ---- rows: an honest one, and the lies ---------------------------------------------------------------------


def row_for(
    ctx: CustomerContext,
    anchors: list[EvidenceItem],
    lines: list[str],
    *,
    diary_extra: str = "",
    extra_anchors: tuple[str, ...] = (),
    body_extra: str = "",
) -> VerdictRow:
    """An at-risk row and its save email: a line per anchor, the diary citing the anchors in brackets."""
    name = ctx.profile.name
    diary = "At risk (MEDIUM). " + " ".join(f"{{{{summary:{a.source_id}}}}} [{a.source_id}]." for a in anchors)
    diary += diary_extra
    body = "\n".join(
        [
            "Hello,",
            "",
            f"We want the renewal to be an easy decision for {name}. We noticed:",
            *lines,
            body_extra,
            "Could we talk before your renewal?",
            "",
            "Best regards",
        ]
    )
    email = DraftEmail(
        subject="{{customer_name}}: can we help before your renewal?",
        body=body,
        anchors=[a.source_id for a in anchors] + list(extra_anchors),
    )
    return VerdictRow(
        customer_id=ctx.profile.customer_id,
        classification="at_risk",
        severity="MEDIUM",
        cited_source_ids=sorted({a.source_id for a in anchors}),
        diary=diary,
        recommended_action="send_save_email",
        email=email,
    )


def numbers_stated(items: list[EvidenceItem]) -> set[float]:
    """The numbers the items state as numbers (a date's parts included, digits inside ids not): the corpus's
    own oracle, written apart from core.citations so the validator is not graded by its own rules."""
    text = " ".join([i.summary for i in items] + [str(v) for i in items for v in i.facts.values()])
    return {float(t.replace(",", "")) for t in re.findall(r"(?<![A-Za-z0-9_])\d[\d,]*(?:\.\d+)?", text)}


def digits_inside_ids(items: list[EvidenceItem], tails: bool = False) -> set[float]:
    """Numbers hidden in raw ids in the summaries: "in_1Qg…P897nk…" holds 897, 97 and 7. An id is no claim.
    `tails`: only what a run reads as once its first digit is skipped (97), as a letter-guarded reader does"""
    runs = [
        run
        for i in items
        for token in re.findall(r"\w+", i.summary)
        if re.search("[A-Za-z]", token)
        for run in re.findall(r"\d+", token)
    ]
    if tails:
        return {float(r[1:]) for r in runs if len(r) > 1}
    return {float(r[k:]) for r in runs for k in range(len(r))}


def misquotes(value: float) -> set[float]:
    """Plausible slips on `value`: a few units off, or 10–40% off for money."""
    if isinstance(value, float) and value != int(value):
        return {round(value * f, 2) for f in (0.6, 0.7, 0.8, 1.15, 1.25, 1.4)}
    if value >= 1000:
        return {int(round(value * f, -2)) for f in (0.7, 0.8, 1.2, 1.3)}
    return {int(value) + d for d in range(-12, 13) if abs(d) >= 2 and int(value) + d >= 1}


SWAPS = {
    "stripe:in_": ("stripe:ii_", "stripe:ch_", "stripe:inv_"),
    "stripe:sub_": ("stripe:si_",),
    "hubspot:deal:": ("hubspot:deals:", "salesforce:deal:"),
    "hubspot:ticket:": ("hubspot:tickets:",),
    "salesforce:opportunity:": ("salesforce:opp:", "hubspot:opportunity:"),
    "slack:C": ("slack:G",),
}


def near_miss(rng: random.Random, sid: str, how: str, known: set[str]) -> str | None:
    """A citation one slip from a real one: a character, the prefix (for usage, the window), or the tail."""
    for _ in range(50):
        if how == "char":
            pos = rng.randrange(sid.index(":") + 4, len(sid))  # into the id proper, past "vendor:" and kind
            pool = string.digits if sid[pos].isdigit() else string.ascii_letters
            out = sid[:pos] + rng.choice(pool.replace(sid[pos], "")) + sid[pos + 1 :]
        elif how == "prefix" and sid.startswith("usage:"):
            out = sid.rsplit(":", 1)[0] + ":" + rng.choice(["7d", "90d", "30days"])
        elif how == "prefix":
            prefix = next(p for p in SWAPS if sid.startswith(p))
            out = rng.choice(SWAPS[prefix]) + sid[len(prefix) :]
        else:
            out = sid[: len(sid) - rng.randint(1, 6)].rstrip(":._")
        if out not in known and out != sid:
            return out
    return None


def cases_for(rng: random.Random, ctx: CustomerContext, other: CustomerContext) -> list[Case]:
    known = ctx.bundle.source_ids()
    # A save email rests on items that point toward risk (one that does not is its own class of lie).
    quotable = [i for i in ctx.bundle.items if i.kind in SAY and i.signal < 0]
    anchors = rng.sample(quotable, k=min(len(quotable), rng.randint(1, 2)))
    lines = [sentence(a) for a in anchors]
    honest = row_for(ctx, anchors, lines)
    cited = honest.cited_source_ids
    target = rng.choice(cited)
    out: list[Case] = []

    def pair(category: str, bad: VerdictRow, twin: VerdictRow, note: str) -> None:
        out.extend([Case(category, True, bad, ctx, note), Case(category, False, twin, ctx, note)])

    def in_diary(sid: str) -> VerdictRow:
        return row_for(ctx, anchors, lines, diary_extra=f" See also [{sid}].")

    def misplaced(category: str, wrong: str, right: str) -> None:
        """The wrong id in place of the right one, in the cited list or in the diary text, alternately."""
        if rng.random() < 0.5:
            swapped = [wrong if s == right else s for s in cited]
            pair(category, honest.model_copy(update={"cited_source_ids": swapped}), honest, f"cited {wrong}")
        else:
            pair(category, in_diary(wrong), in_diary(right), f"diary names {wrong}")

    tail = "in_1Q" + _r(rng, 22) if target.startswith("stripe") else _r(rng, 9)
    fresh = target.rsplit(":", 1)[0] + ":" + tail
    misplaced("unknown_id", fresh, target)
    for how in ("char", "prefix", "truncated"):
        wrong = near_miss(rng, target, how, known)
        if wrong:
            misplaced(f"near_miss_{how}", wrong, target)
    foreign = next(s for s in sorted(other.bundle.source_ids()) if s not in known)
    misplaced("cross_customer_id", foreign, target)
    pair("diary_only_id", in_diary(fresh), in_diary(rng.choice(sorted(known))), f"diary-only {fresh}")
    vendor, rest = target.split(":", 1)
    shout = {"hubspot": "HubSpot", "salesforce": "SalesForce"}.get(vendor, vendor.capitalize()) + ":" + rest
    pair("case_variant_id", in_diary(shout), in_diary(target), f"diary names {shout}")
    missing = rng.choice([fresh, foreign])
    pair("missing_anchor", row_for(ctx, anchors, lines, extra_anchors=(missing,)), honest, f"adds {missing}")
    pair(
        "email_inline_unknown_id",
        row_for(ctx, anchors, lines, body_extra=f"(Reference: {fresh})"),
        row_for(ctx, anchors, lines, body_extra="(Reference: your account team)"),
        f"inline {fresh}",
    )

    a, fact = anchors[0], SAY[anchors[0].kind][0]

    def misquote(category: str, pool: set[int] | set[float], why: str) -> None:
        """The first anchor's number stated as one from `pool` instead."""
        if pool:
            value = rng.choice(sorted(pool))
            pair(
                category,
                row_for(ctx, anchors, [sentence(a, **{fact: value})] + lines[1:]),
                honest,
                f"{fact} {a.facts[fact]} stated as {value}, {why}",
            )

    # Slips that equal a date's part or digits inside an id are the probes' business, not the brief's.
    taken = numbers_stated(anchors) | digits_inside_ids(anchors)
    theirs = {float(str(i.facts[fact])) for i in other.bundle.items if i.kind == a.kind}
    misquote("invented_number", misquotes(float(str(a.facts[fact]))) - taken, "a plausible slip")
    misquote("cross_customer_number", theirs - taken, "the other customer's figure")
    dates = [str(v) for x in anchors for v in x.facts.values() if re.fullmatch(r"\d{4}-\d\d-\d\d", str(v))]
    undated = [x.model_copy(update={"facts": {k: v for k, v in x.facts.items() if v not in dates}}) for x in anchors]
    parts = {int(p) for d in dates for p in d.split("-") if 1 <= int(p) < 1000}
    misquote(
        "number_from_a_date",
        parts - numbers_stated(undated) - digits_inside_ids(anchors),
        "a part of a date in the evidence",
    )
    tails = {int(v) for v in digits_inside_ids(anchors, tails=True) if 1 <= v < 1000}
    misquote("number_from_an_id", tails - numbers_stated(anchors), "the tail of a digit run inside an id")
    return out


def corpus(customers: int = 40, seed: int = 7) -> list[Case]:
    rng = random.Random(seed)
    ctxs = [customer(rng, i) for i in range(customers)]
    return [c for i, ctx in enumerate(ctxs) for c in cases_for(rng, ctx, ctxs[(i + 1) % len(ctxs)])]


def outcome(case: Case) -> str:
    """What validate_row did to the case's row: demoted, email_dropped, clean, or changed (anything else)."""
    row, notes = validate_row(case.row, case.ctx.bundle, case.ctx.profile.name, breakdown=case.ctx.breakdown)
    if row.abstain_reason == SOURCE_VALIDATION_FAILED:
        return "demoted"
    if case.row.email is not None and row.email is None:
        return "email_dropped"
    return "clean" if not notes and row == case.row else "changed"
