"""The pure parts of claims as data, one rule at a time: the registry covers every fact the connectors write, the
renderer's human forms, and the prose and claim checks on the forms an adversary reaches for."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from core import facts
from core.citations import context, email_problems, references, render_email
from core.claims import check
from core.render import human, render
from schemas.evidence import EvidenceBundle, EvidenceItem
from schemas.offers import EmailSettings, Offer
from schemas.verdict import DraftEmail

ROOT = Path(__file__).parent.parent
RUN = dt.date(2026, 11, 22)


def written_fact_keys(path: Path) -> set[str]:
    """Every facts key a module writes: `facts={...}` arguments, `facts = {...}` (annotated too) and
    `{k: ... for k in (...)}`."""
    keys: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        value = None
        if isinstance(node, ast.keyword) and node.arg == "facts":
            value = node.value
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "facts" for t in node.targets):
            value = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "facts":
            value = node.value  # `facts: dict[str, FactValue] = {...}`
        if isinstance(value, ast.Dict):
            keys |= {k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        elif isinstance(value, ast.DictComp):
            for gen in value.generators:
                if isinstance(gen.iter, ast.Tuple):
                    keys |= {e.value for e in gen.iter.elts if isinstance(e, ast.Constant)}
    return keys


@pytest.mark.parametrize(
    "module",
    [*sorted((ROOT / "connectors").glob("*.py")), ROOT / "core" / "health.py", ROOT / "tests" / "fabrication.py"],
    ids=lambda p: p.name,
)
def test_every_fact_a_connector_writes_is_in_the_registry(module: Path) -> None:
    missing = written_fact_keys(module) - set(facts.FIELDS)
    assert not missing, f"{module.name} writes facts the registry does not type: {sorted(missing)}"


def test_the_scan_finds_the_connectors_facts() -> None:  # the walker above is not vacuous
    assert {"days_late", "attempt_count", "seats_now"} <= written_fact_keys(ROOT / "connectors" / "stripe.py")
    assert {"status", "arr_usd", "renewal_date"} <= written_fact_keys(ROOT / "connectors" / "stripe.py")
    assert {"text", "days_waiting"} <= written_fact_keys(ROOT / "connectors" / "slack.py")


@pytest.mark.parametrize(
    "key, value, shown",
    [
        ("amount_usd", 12500.0, "$12,500"),
        ("amount_usd", 1234.5, "$1,234.50"),
        ("days_late", 9, "9 days"),
        ("days_late", 1, "1 day"),
        ("attempt_count", 4, "4 payment attempts"),
        ("seats_now", 58, "58 seats"),
        ("active_users_now", 31.0, "31 active users"),
        ("active_users", 55.5, "55.5 active users"),
        ("change_pct", -40, "40%"),  # the direction is the prose's to say, and the checks hold it to the sign
        ("spike_ratio", 3.2, "3.2 times"),
        ("due_date", "2026-10-03", "3 October"),
        ("renewal_date", "2027-01-02", "2 January 2027"),
        ("errors_2d", 120, "120 errors"),
    ],
)
def test_facts_render_in_human_form(key: str, value: object, shown: str) -> None:
    assert human(key, value, RUN) == shown  # type: ignore[arg-type]


ITEMS = [
    EvidenceItem(
        source_id="stripe:in_1",
        kind="invoice_paid_late",
        factor="payment_history",
        signal=-0.3,
        summary="Invoice in_1 paid 9 days late",
        facts={"days_late": 9, "amount_usd": 12500.0, "due_date": "2026-10-03"},
    ),
    EvidenceItem(
        source_id="usage:c:30d",
        kind="usage_fell",
        factor="usage_trend",
        signal=-0.4,
        summary="fell",
        facts={"active_users_now": 31.0, "active_users_before": 52.0, "change_pct": -40},
    ),
    EvidenceItem(
        source_id="hubspot:deal:9",
        kind="renewal_deal_at_risk",
        factor="champion_status",
        signal=-0.4,
        summary="stage",
        facts={"deal": "Acme renewal", "stage": "negotiation", "amount_usd": 90000},
    ),
    EvidenceItem(
        source_id="stripe:in_2",
        kind="payments_on_time",
        factor="payment_history",
        signal=0.3,
        summary="on time",
        facts={"invoices_on_time": 5},
    ),
]
BUNDLE = EvidenceBundle(tenant_id="t", customer_id="c", run_date=RUN, items=ITEMS)
SETTINGS = EmailSettings(signature="Sam", offers=[Offer(name="loyalty", kind="discount", maximum=10)])
CTX = context(BUNDLE, "Acme 360", "at_risk", settings=SETTINGS, route="TIER2")


def test_the_example_of_the_issue_renders() -> None:
    t = (
        "Your invoice of {{fact:stripe:in_1#due_date}} for {{fact:stripe:in_1#amount_usd}} was paid "
        "{{fact:stripe:in_1#days_late}} late."
    )
    rendered, problems = check(t, CTX, "email")
    assert problems == [] and rendered.text == "Your invoice of 3 October for $12,500 was paid 9 days late."


@pytest.mark.parametrize(
    "prose, why",
    [
        ("Paid ９ days late.", "number typed"),  # fullwidth
        ("Paid ⁹ days late.", "number typed"),  # superscript
        ("Paid ٩ days late.", "number typed"),  # Arabic-Indic
        ("Paid Ⅸ days late.", "number typed"),  # roman numeral character (Nl)
        ("Paid IX days late.", "roman numeral"),
        ("Paid nine days late.", "number word"),
        ("Paid ni\u200bne days late.", "number word"),  # a zero-width space inside the word
        ("Paid a fortnight late.", "number word"),
        ("It was the third reminder.", "number word"),
        ("A balance of lO,OOO remains.", "letters standing in"),
        ("About {{fact:stripe:in_1#amount_usd}}k is open.", "glued"),
        ("USD{{fact:stripe:in_1#amount_usd}} is open.", "glued"),
        ("The amount is in euros.", "currency"),
        ("Due since October.", "written-out date"),
        ("Usage is +{{fact:usage:c:30d#change_pct}}.", "sign typed"),
        ("Usage grew {{fact:usage:c:30d#change_pct}}.", "written as 'grew'"),
        ("It took {{fact:stripe:in_1#days_late}} attempts.", "written as 'attempts'"),
        ("We can offer a discount.", "commercial term"),
        ("We can offer {{offer:vip}}.", "no offer named"),
        ("Your deal is in negotiation.", "internal"),
        ("Our open deal is {{fact:hubspot:deal:9#amount_usd}}.", "internal"),
        ("See stripe:in_1.", "source id"),
    ],
)
def test_a_claim_the_evidence_does_not_make_is_named(prose: str, why: str) -> None:
    problems = email_problems(
        DraftEmail(subject="Renewal", body=prose, anchors=["stripe:in_1", "usage:c:30d", "hubspot:deal:9"]),
        BUNDLE,
        "Acme 360",
        classification="at_risk",
        settings=SETTINGS,
        route="TIER2",
    )
    assert any(why in p for p in problems), problems


def test_the_honest_forms_pass_and_render_with_a_signature() -> None:
    body = (
        "Hello {{customer_name}} team,\n\nYour usage fell from {{fact:usage:c:30d#active_users_before}} to "
        "{{fact:usage:c:30d#active_users_now}}, a drop of {{fact:usage:c:30d#change_pct}}. May we offer "
        "{{offer:loyalty}}? Acme 360 matters to us; feel free to reply."
    )
    email = DraftEmail(subject="{{customer_name}}: your renewal", body=body, anchors=["usage:c:30d"])
    assert email_problems(email, BUNDLE, "Acme 360", classification="at_risk", settings=SETTINGS, route="TIER2") == []
    out = render_email(email, CTX)
    assert out.subject == "Acme 360: your renewal" and out.body.rstrip().endswith("Sam")
    assert "from 52 active users to 31 active users, a drop of 40%" in out.body
    assert "a discount of up to 10% on your renewal" in out.body and not out.quotes_customer


def test_a_healthy_item_cannot_anchor_a_save_email() -> None:
    email = DraftEmail(subject="Renewal", body="We need to talk about late payment.", anchors=["stripe:in_2"])
    problems = email_problems(email, BUNDLE, "Acme 360", classification="at_risk")
    assert any("does not point toward at_risk" in p for p in problems), problems


def test_references_offer_each_customer_fact_and_allowed_offer_and_nothing_internal() -> None:
    refs = {r["token"]: r["rendered"] for r in references(["stripe:in_1", "hubspot:deal:9"], CTX)}
    assert refs["{{fact:stripe:in_1#days_late}}"] == "9 days" and refs["{{offer:loyalty}}"].startswith("a discount")
    assert not [t for t in refs if "hubspot:deal:9" in t]  # a deal's name, stage and amount stay internal


def test_the_diary_may_cite_ids_and_math_but_types_no_number() -> None:
    assert check("At risk [stripe:in_1]. {{summary:stripe:in_1}}.", CTX, "diary")[1] == []
    assert render("{{summary:stripe:in_1}}", CTX, "diary").text == "Invoice in_1 paid 9 days late"
    assert check("Paid 9 days late [stripe:in_1].", CTX, "diary")[1]
