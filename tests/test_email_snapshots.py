"""What a customer would receive, for a person to read: one rendered email per verdict kind (save at risk, save
likely churn, upsell) from the offline model, and one per vendor adapter through its SDK and local fake.
tests/snapshots/emails.txt is the review copy; regenerate it with UPDATE_SNAPSHOTS=1 and read the diff."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from core import citations
from core.factors import DEFAULT_WEIGHTS, breakdown
from llm.base import CustomerContext
from llm.offline import verdict_for
from llm.registry import get_model
from sandbox import llm_fakes as fakes
from schemas.evidence import CustomerProfile, EvidenceBundle, EvidenceItem
from schemas.offers import EmailSettings, Offer
from schemas.verdict import VerdictRow

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:Item .* on TypedDict class .* is using the `ReadOnly` qualifier:UserWarning"),
]
SNAPSHOT = Path(__file__).parent / "snapshots" / "emails.txt"
RUN = dt.date(2026, 11, 22)
SETTINGS = EmailSettings(
    sender_name="Sam Reyes",
    reply_to="sam@vendor.example",
    signature="Sam Reyes\nCustomer Success, Vendor Inc.",
    offers=[
        Offer(name="loyalty", kind="discount", maximum=10, verdicts=["at_risk"]),
        Offer(name="growth-hold", kind="price_hold", maximum=12, verdicts=["expansion"]),
    ],
)
SPECS = {
    "anthropic": "anthropic:claude-haiku-4-5",
    "openai": "openai:gpt-5-mini",
    "google": "google:gemini-2.5-flash",
    "litellm": "litellm:mistral/mistral-small",
}


def _item(sid: str, kind: str, factor: str, signal: float, summary: str, **facts: object) -> EvidenceItem:
    return EvidenceItem(
        source_id=sid,
        kind=kind,
        factor=factor,  # type: ignore[arg-type]
        signal=signal,
        summary=summary,
        facts=facts,  # type: ignore[arg-type]
        observed_on=RUN - dt.timedelta(days=4),
    )


def _customer(cid: str, name: str, arr_usd: int, items: list[EvidenceItem]) -> CustomerContext:
    profile = CustomerProfile(
        tenant_id="t",
        customer_id=cid,
        name=name,
        email=f"ops@{cid}.example",
        arr_cents=arr_usd * 100,
        contract="annual",
        renewal_date=RUN + dt.timedelta(days=41),
    )
    bundle = EvidenceBundle(tenant_id="t", customer_id=cid, run_date=RUN, items=items)
    return CustomerContext(
        profile=profile,
        bundle=bundle,
        breakdown=breakdown(items, DEFAULT_WEIGHTS),
        offers=[o for o in SETTINGS.offers if "TIER2" in o.routes],
    )


LATE = _item(
    "stripe:in_1QLate0000000000000000",
    "invoice_paid_late",
    "payment_history",
    -0.35,
    "Invoice in_1QLate0000000000000000 for $12,500.00 was paid 31 days late",
    amount_usd=12500.0,
    days_late=31,
    due_date="2026-10-03",
    paid_date="2026-11-03",
)
CUSTOMERS = {
    "save (at_risk)": _customer(
        "cus_Northwind01",
        "Northwind Traders",
        24_000,
        [
            LATE,
            _item(
                "usage:cus_Northwind01:active_users:30d",
                "usage_fell",
                "usage_trend",
                -0.4,
                "Daily active users averaged 31 over the last 7 days against 52 30 days earlier (-40%)",
                active_users_now=31.0,
                active_users_before=52.0,
                change_pct=-40,
            ),
            _item(
                "hubspot:contact:5101",
                "champion_quiet",
                "champion_status",
                -0.3,
                "No contact with the champion Dana Whitfield for 47 days",
                contact="Dana Whitfield",
                days_since_contact=47,
                last_contacted="2026-10-06",
            ),
            _item(
                "hubspot:deal:88204",
                "renewal_deal_at_risk",
                "champion_status",
                -0.4,
                "The renewal deal 'Northwind renewal 2027' is in stage renewal_at_risk",
                deal="Northwind renewal 2027",
                stage="renewal_at_risk",
            ),
        ],
    ),
    "save (likely_churn)": _customer(
        "cus_Globex0002",
        "Globex 2000",
        18_000,
        [
            _item(
                "stripe:sub_1QGlobex00000000000000",
                "cancel_at_period_end",
                "payment_history",
                -1.0,
                "The subscription is set to cancel at the end of the period (2027-01-02)",
                renewal_date="2027-01-02",
            ),
            _item(
                "stripe:in_1QGlobexAttempts000000",
                "payment_attempts_failed",
                "payment_history",
                -0.45,
                "Invoice in_1QGlobexAttempts000000 needed 4 payment attempts",
                attempt_count=4,
                failed_attempts=3,
                amount_usd=1500.0,
            ),
            _item(
                "slack:C0GLOBEX1:1763000000.000100",
                "question_unanswered",
                "support_sentiment",
                -0.4,
                'A question from <@U0GLOB> has had no reply for 9 days: "is anyone looking at the export bug?"',
                user="U0GLOB",
                days_waiting=9,
                text="is anyone looking at the export bug?",
            ),
            _item(
                "usage:cus_Globex0002:active_users:30d",
                "usage_fell",
                "usage_trend",
                -0.6,
                "Daily active users averaged 6.5 over the last 7 days against 38 30 days earlier (-83%)",
                active_users_now=6.5,
                active_users_before=38.0,
                change_pct=-83,
            ),
            _item(
                "hubspot:contact:6202",
                "champion_left",
                "champion_status",
                -0.8,
                "The champion Ola Nordmann has left the company",
                contact="Ola Nordmann",
                left_company=True,
            ),
        ],
    ),
    "upsell (expansion)": _customer(
        "cus_Initech003",
        "Initech",
        30_000,
        [
            _item(
                "stripe:sub_1QInitech0000000000000",
                "seats_grew",
                "usage_trend",
                0.5,
                "Seats went from 40 to 58 (+45%) between invoice in_1 and in_2",
                seats_before=40,
                seats_now=58,
                change_pct=45,
            ),
            _item(
                "usage:cus_Initech003:utilisation:7d",
                "near_seat_limit",
                "usage_trend",
                0.3,
                "55.5 of 58 licensed seats active on average this week (96%)",
                active_users=55.5,
                licensed_seats=58,
                utilisation_pct=96,
            ),
            _item(
                "stripe:in_1QInitechOnTime00000000",
                "payments_on_time",
                "payment_history",
                0.3,
                "The last 6 invoices were all paid on time",
                invoices_on_time=6,
            ),
            _item(
                "hubspot:contact:7001",
                "champion_engaged",
                "champion_status",
                0.2,
                "The champion Priya Raman was in touch 3 days ago",
                contact="Priya Raman",
                days_since_contact=3,
                last_contacted="2026-11-19",
            ),
        ],
    ),
}


def shown(title: str, ctx: CustomerContext, row: VerdictRow) -> str:
    """The email as the customer reads it, after the same validation a scan applies, with its anchors."""
    checked, notes = citations.validate_row(
        row, ctx.bundle, ctx.profile.name, settings=SETTINGS, route="TIER2", breakdown=ctx.breakdown
    )
    assert notes == [] and checked.email is not None, notes
    rc = citations.context(ctx.bundle, ctx.profile.name, row.classification, settings=SETTINGS, route="TIER2")
    email = citations.render_email(checked.email, rc)
    return "\n".join(
        [
            f"=== {title}: {ctx.profile.name}, {row.classification} ({row.severity}) ===",
            f"From: {SETTINGS.sender_name} · Reply-To: {SETTINGS.reply_to} · To: {ctx.profile.email}",
            f"Subject: {email.subject}",
            "",
            email.body.rstrip(),
            "",
            "[anchors, for the operator: " + ", ".join(checked.email.anchors) + "]",
            "",
        ]
    )


async def test_one_rendered_email_per_verdict_kind_and_per_vendor_adapter() -> None:
    parts = []
    for title, ctx in CUSTOMERS.items():
        row = verdict_for(ctx)
        assert title.endswith(f"({row.classification})"), (title, row.classification)
        parts.append(shown(f"offline model, {title}", ctx, row))
    batch = list(CUSTOMERS.values())
    for vendor, spec in SPECS.items():
        fake = fakes.start_fake_llm(vendor)
        try:
            model = get_model(spec, keys={vendor: "sk-test", "mistral": "sk-test"}, base_urls={vendor: fake.base_url})
            answer = await model.classify(batch)
            await model.aclose()  # type: ignore[attr-defined]
        finally:
            fake.stop()
        ctx, row = batch[0], answer.verdicts.rows[0]  # the save email, as each vendor's SDK brought it back
        parts.append(shown(f"{spec} through its SDK (local fake)", ctx, row))
    text = "\n".join(parts)
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()
    for bad in ("stripe:", "hubspot:", "<@U", "renewal_at_risk", "Northwind renewal 2027", "{{", "weighted"):
        assert bad not in text.split("[anchors")[0], bad
