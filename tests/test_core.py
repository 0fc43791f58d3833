"""Pure logic: factor math, routing, anti-fabrication. No I/O, so tested exhaustively and with properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import citations, routing
from core.factors import (
    DEFAULT_WEIGHTS,
    Thresholds,
    abstain_reason,
    breakdown,
    check_weights,
    churn_is_explicit,
    classify_total,
)
from llm.base import CustomerContext
from llm.offline import verdict_for
from schemas.evidence import FACTORS, CustomerProfile, EvidenceBundle, EvidenceItem
from schemas.verdict import DraftEmail, VerdictRow

RUN = dt.date(2026, 11, 22)


def item(sid: str, factor: str, signal: float, summary: str = "", kind: str = "test", **facts: object) -> EvidenceItem:
    return EvidenceItem(
        source_id=sid,
        kind=kind,
        factor=factor,
        signal=signal,  # type: ignore[arg-type]
        summary=summary or f"signal {signal}",
        facts=facts,
    )  # type: ignore[arg-type]


def bundle(*items: EvidenceItem, cid: str = "cus_1") -> EvidenceBundle:
    return EvidenceBundle(tenant_id="t", customer_id=cid, run_date=RUN, items=list(items))


def ctx(b: EvidenceBundle, arr_cents: int = 10_000_00, name: str = "Acme") -> CustomerContext:
    profile = CustomerProfile(
        tenant_id="t",
        customer_id=b.customer_id,
        name=name,
        email="a@example.com",
        arr_cents=arr_cents,
        contract="annual",
        renewal_date=RUN + dt.timedelta(days=40),
    )
    return CustomerContext(profile=profile, bundle=b, breakdown=breakdown(b.items, DEFAULT_WEIGHTS))


# ---- weights and factor math ---------------------------------------------------------------------------------


def test_default_weights_sum_to_one() -> None:
    assert check_weights(DEFAULT_WEIGHTS) == DEFAULT_WEIGHTS


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"payment_history": 0.5, "usage_trend": 0.5, "champion_status": 0.5, "support_sentiment": 0.0}, "sum to 1.0"),
        (
            {"payment_history": 1.2, "usage_trend": -0.2, "champion_status": 0.0, "support_sentiment": 0.0},
            r"within \[0, 1\]",
        ),
        ({"payment_history": 1.0}, "missing"),
    ],
)
def test_bad_weights_say_which_rule_broke(weights: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_weights(weights)


def test_breakdown_shows_the_factor_that_pushed_it_across() -> None:
    b = breakdown(
        [
            item("stripe:in_1", "payment_history", -0.9),
            item("usage:cus_1:30d", "usage_trend", -0.2),
            item("slack:C1:1.0", "support_sentiment", 0.1),
        ],
        DEFAULT_WEIGHTS,
    )
    assert b.total == pytest.approx(-0.9 * 0.35 - 0.2 * 0.30 + 0.1 * 0.15, abs=1e-4)
    assert classify_total(b.total, Thresholds()) == "at_risk"
    assert b.pushed_by == "payment_history"
    assert {f.factor: f.evidence for f in b.factors}["payment_history"] == ["stripe:in_1"]


@given(st.lists(st.tuples(st.sampled_from(FACTORS), st.floats(-1, 1)), max_size=30))
def test_total_is_the_sum_of_contributions_and_stays_in_range(signals: list[tuple[str, float]]) -> None:
    b = breakdown([item(f"stripe:in_{n}", f, s) for n, (f, s) in enumerate(signals)], DEFAULT_WEIGHTS)
    assert -1.0 <= b.total <= 1.0
    assert b.total == pytest.approx(sum(f.contribution for f in b.factors), abs=1e-3)


def test_thin_and_contradictory_evidence_abstain() -> None:
    thin = [item("stripe:sub_1", "payment_history", -0.3)]
    assert abstain_reason(thin, breakdown(thin, DEFAULT_WEIGHTS)).startswith("thin_evidence")
    mixed = [
        item("stripe:in_1", "payment_history", -0.8),
        item("usage:c:30d", "usage_trend", 0.9),
        item("slack:C:1", "support_sentiment", 0.1),
    ]
    assert abstain_reason(mixed, breakdown(mixed, DEFAULT_WEIGHTS)).startswith("contradictory_evidence")


# ---- routing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "features, route",
    [
        (routing.RouteFeatures(60_000_00, None, None, 0), "TIER3"),
        (routing.RouteFeatures(5_000_00, "HIGH", "LOW", 0), "TIER3"),
        (routing.RouteFeatures(5_000_00, "HIGH", "HIGH", 0), "TIER1"),
        (routing.RouteFeatures(5_000_00, "LOW", None, 2), "TIER2"),
        (routing.RouteFeatures(5_000_00, None, None, 0), "TIER1"),
    ],
)
def test_route_customer(features: routing.RouteFeatures, route: str) -> None:
    assert routing.route_customer(features) == route


@given(st.lists(st.sampled_from(["TIER1", "TIER2", "TIER3"]), max_size=200), st.integers(1, 20))
def test_batches_are_route_homogeneous_and_cover_everyone(routes: list[str], size: int) -> None:
    routed = [(f"cus_{i}", r) for i, r in enumerate(routes)]
    out = routing.batches(routed, size)  # type: ignore[arg-type]
    assert sorted(c for _, ids in out for c in ids) == sorted(c for c, _ in routed)
    assert all(0 < len(ids) <= size for _, ids in out)
    route_of = dict(routed)
    assert all(route_of[c] == r for r, ids in out for c in ids)


def test_mix_drift_flags_tiers_outside_their_band() -> None:
    assert routing.mix_drift(["TIER1"] * 70 + ["TIER2"] * 25 + ["TIER3"] * 5) == []
    assert routing.mix_drift(["TIER1"] * 50 + ["TIER2"] * 50)[0].startswith("TIER1 at 50%")


# ---- anti-fabrication -------------------------------------------------------------------------------------------

LATE = item(
    "stripe:in_9",
    "payment_history",
    -0.35,
    "Invoice in_9 for $1,200.00 was paid 31 days late",
    kind="invoice_paid_late",
    amount_usd=1200.0,
    days_late=31,
)
GROW = item("usage:cus_1:30d", "usage_trend", -0.4, "Active users fell 30% over 30 days", change_pct=-30)


def row(**kw: object) -> VerdictRow:
    base = dict(
        customer_id="cus_1",
        classification="at_risk",
        severity="MEDIUM",
        cited_source_ids=["stripe:in_9"],
        diary="Paid late [stripe:in_9].",
        recommended_action="send_save_email",
        email=DraftEmail(
            subject="Renewal",
            body="Your invoice was paid {{fact:stripe:in_9#days_late}} late.",
            anchors=["stripe:in_9"],
        ),
    )
    return VerdictRow(**(base | kw))  # type: ignore[arg-type]


def test_a_valid_row_passes_untouched() -> None:
    r = row()
    assert citations.validate_row(r, bundle(LATE, GROW)) == (r, [])


@pytest.mark.parametrize("bad", ["stripe:in_8", "stripe:in_99", "hubspot:deal:1", "stripe:in_9x"])
def test_an_unknown_or_near_miss_id_demotes_the_row(bad: str) -> None:
    out, notes = citations.validate_row(row(cited_source_ids=["stripe:in_9", bad]), bundle(LATE, GROW))
    assert (out.classification, out.severity, out.abstain_reason) == ("standard", "LOW", "source_validation_failed")
    assert out.email is None and out.recommended_action == "internal_alert"
    assert bad in notes[0] and bad not in out.cited_source_ids


def test_an_unknown_id_in_the_diary_text_demotes_the_row() -> None:
    out, _ = citations.validate_row(row(diary="Churn risk [slack:C0:123.4]."), bundle(LATE, GROW))
    assert out.abstain_reason == "source_validation_failed"


@pytest.mark.parametrize(
    "body, why",
    [
        ("Your invoice was paid 31 days late.", "a number typed in the prose"),  # even the true number
        ("You owe $1,300.00.", "a number typed in the prose"),
        ("Your invoice was paid thirty-one days late.", "a number word"),
        ("Usage fell and the invoice was {{fact:stripe:in_9#days_late}} late, about a month.", ""),
    ],
)
def test_a_number_typed_in_the_prose_drops_the_email(body: str, why: str) -> None:
    r = row(email=DraftEmail(subject="Renewal", body=body, anchors=["stripe:in_9"]))
    out, notes = citations.validate_row(r, bundle(LATE, GROW))
    if not why:  # the honest one: no number of its own
        assert out == r and notes == []
        return
    assert out.email is None and out.recommended_action == "internal_alert"
    assert out.classification == "at_risk"  # the verdict stands; only the email goes
    assert why in notes[0]


def test_numbers_in_the_customer_name_are_not_claims() -> None:
    body = "Paid {{fact:stripe:in_9#days_late}} late."
    r = row(email=DraftEmail(subject="Acme 360: renewal", body=body, anchors=["stripe:in_9"]))
    out, _ = citations.validate_row(r, bundle(LATE), customer_name="Acme 360")
    assert out.email is not None


def test_anchors_outside_the_bundle_drop_the_email() -> None:
    body = "Paid {{fact:stripe:in_9#days_late}} late."
    r = row(email=DraftEmail(subject="Hi", body=body, anchors=["stripe:in_9", "stripe:in_7"]))
    out, notes = citations.validate_row(r, bundle(LATE))
    assert out.email is None and "anchor stripe:in_7" in notes[0]


# ---- the offline model -----------------------------------------------------------------------------------------


def test_offline_verdicts_cite_only_their_own_bundle_and_pass_validation() -> None:
    b = bundle(
        LATE,
        item(
            "stripe:in_10",
            "payment_history",
            -0.4,
            "Invoice in_10 is 12 days past due",
            kind="invoice_past_due",
            days_overdue=12,
            amount_usd=90.5,
        ),
        GROW,
    )
    c = ctx(b)
    v = verdict_for(c)
    assert v.classification in ("at_risk", "likely_churn")
    assert set(v.cited_source_ids) <= b.source_ids()
    assert v.email is not None and set(v.email.anchors) <= b.source_ids()
    assert citations.validate_row(v, b, "Acme", breakdown=c.breakdown) == (v, [])
    assert "No earlier entry" in v.diary


def test_offline_expansion_drafts_an_upsell() -> None:
    b = bundle(
        item("stripe:in_1", "usage_trend", 0.6, "Seats went from 10 to 16 (+60%)"),
        item("usage:cus_1:30d", "usage_trend", 0.5, "Active users up 40% over 30 days"),
        item("stripe:in_2", "payment_history", 0.3, "The last 4 invoices were all paid on time"),
    )
    v = verdict_for(ctx(b))
    assert (v.classification, v.recommended_action) == ("expansion", "send_upsell_email")


@pytest.mark.parametrize(
    "route, cls, arr, opted, expected",
    [
        ("TIER1", "at_risk", 5_000_00, {"TIER1": True}, True),
        ("TIER1", "at_risk", 5_000_00, {}, False),  # off by default
        ("TIER1", "likely_churn", 5_000_00, {"TIER1": True}, False),  # never for likely churn
        ("TIER3", "expansion", 80_000_00, {"TIER3": True}, False),  # never for enterprise accounts
        ("TIER2", "expansion", 49_999_99, {"TIER1": True}, False),  # opted in per route
    ],
)
def test_auto_send_is_opt_in_and_never_for_enterprise_or_churn(
    route: str, cls: str, arr: int, opted: dict[str, bool], expected: bool
) -> None:
    assert routing.may_auto_send(route, cls, arr, opted) is expected


@pytest.mark.parametrize(
    "why",
    [
        {"needs_review": True},
        {"severity": "HIGH"},
        {"quotes_customer": True},
        {"has_notes": True},
        {"failure_rate": 0.06},  # the tenant's validation-failure banner is up
    ],
)
def test_auto_send_never_fires_for_a_draft_a_person_must_read(why: dict[str, object]) -> None:
    assert routing.may_auto_send("TIER1", "at_risk", 5_000_00, {"TIER1": True}, failure_rate=0.05) is True
    assert routing.may_auto_send("TIER1", "at_risk", 5_000_00, {"TIER1": True}, **why) is False  # type: ignore[arg-type]


def test_likely_churn_needs_an_explicit_source_once_crm_and_slack_are_read() -> None:
    # Each signal a modest one (none says "leaving"), two per factor.
    troubles = [
        item(f"{src}{n}", factor, signal)
        for src, factor, signal in (
            ("stripe:in_", "payment_history", -0.5),
            ("usage:cus_1:", "usage_trend", -0.5),
            ("hubspot:deal:", "champion_status", -0.4),
            ("slack:C1:", "support_sentiment", -0.4),
        )
        for n in (1, 2)
    ]
    b = breakdown(troubles, DEFAULT_WEIGHTS)
    assert b.total <= Thresholds().likely_churn
    # Many small troubles across four sources: at risk, not leaving.
    assert classify_total(b.total, Thresholds(), churn_is_explicit(troubles, b)) == "at_risk"
    # One source that says they are leaving makes it likely churn.
    leaving = troubles + [item("slack:C1:2.0", "support_sentiment", -0.7)]
    b2 = breakdown(leaving, DEFAULT_WEIGHTS)
    assert classify_total(b2.total, Thresholds(), churn_is_explicit(leaving, b2)) == "likely_churn"
    # With billing and usage alone, the total decides, as it was calibrated.
    thin = troubles[:4]
    b3 = breakdown(thin, DEFAULT_WEIGHTS)
    assert b3.total <= Thresholds().likely_churn
    assert classify_total(b3.total, Thresholds(), churn_is_explicit(thin, b3)) == "likely_churn"


def test_an_error_spike_does_not_soften_likely_churn_on_billing_and_usage_alone() -> None:
    # Stripe and usage at the likely-churn threshold, no CRM or Slack read: the total decides.
    billing_and_usage = [
        item(f"{src}{n}", factor, -0.5)
        for src, factor in (("stripe:in_", "payment_history"), ("usage:cus_1:active_users:", "usage_trend"))
        for n in (1, 2)
    ]
    b = breakdown(billing_and_usage, DEFAULT_WEIGHTS)
    assert b.total <= Thresholds().likely_churn
    assert classify_total(b.total, Thresholds(), churn_is_explicit(billing_and_usage, b)) == "likely_churn"
    # The usage connector's error spike informs a third factor (support_sentiment) and makes things worse,
    # never better: still no CRM or Slack, so still the total decides.
    spiked = billing_and_usage + [item("usage:cus_1:errors:2d", "support_sentiment", -0.3)]
    b2 = breakdown(spiked, DEFAULT_WEIGHTS)
    assert b2.total < b.total and sum(1 for r in b2.factors if r.evidence) == 3
    assert classify_total(b2.total, Thresholds(), churn_is_explicit(spiked, b2)) == "likely_churn"
    assert verdict_for(ctx(bundle(*spiked))).classification == "likely_churn"


@pytest.mark.parametrize("crm_or_slack", ["hubspot:deal:1", "salesforce:opportunity:006A", "slack:C1:1.0"])
def test_one_crm_or_slack_source_is_enough_to_need_an_explicit_one(crm_or_slack: str) -> None:
    # Two factors informed, but one of them by the CRM or Slack: modest troubles there are not "leaving".
    troubles = [
        item(f"{src}{n}", factor, -0.5)
        for src, factor in (("stripe:in_", "payment_history"), ("usage:cus_1:active_users:", "usage_trend"))
        for n in (1, 2)
    ]
    troubles.append(item(crm_or_slack, "usage_trend", -0.3))
    b = breakdown(troubles, DEFAULT_WEIGHTS)
    assert b.total <= Thresholds().likely_churn and sum(1 for r in b.factors if r.evidence) == 2
    assert classify_total(b.total, Thresholds(), churn_is_explicit(troubles, b)) == "at_risk"


# ---- issue #12: missing sources, contradiction, explicit growth, thin accounts ------------------------------


def kind_item(sid: str, kind: str, factor: str, signal: float, **facts: object) -> EvidenceItem:
    return item(sid, factor, signal, **facts).model_copy(update={"kind": kind})


def test_a_factor_whose_sources_are_all_missing_is_left_out_of_the_total_and_the_breakdown_says_so() -> None:
    troubles = [
        kind_item("stripe:in_1", "invoice_past_due", "payment_history", -0.8),
        kind_item("hubspot:contact:1", "champion_left", "champion_status", -0.8),
        kind_item("slack:C1:1.0", "cancel_talk", "support_sentiment", -0.7),
    ]
    read_all = breakdown(troubles, DEFAULT_WEIGHTS)
    no_usage = breakdown(troubles, DEFAULT_WEIGHTS, missing={"usage"})
    assert (read_all.informed_weight, read_all.uninformed) == (1.0, [])
    assert (no_usage.informed_weight, no_usage.uninformed) == (0.7, ["usage_trend"])
    # judged against the 0.70 of weight that evidence could speak to: across the likely-churn line, not short of it
    assert read_all.total > Thresholds().likely_churn >= no_usage.total
    assert no_usage.total == pytest.approx(read_all.total / 0.7, abs=1e-3)
    # a missing source whose factor still has evidence (an expansion deal informs usage_trend) leaves it informed
    deal = kind_item("hubspot:deal:2", "expansion_deal_open", "usage_trend", 0.4)
    assert breakdown([*troubles, deal], DEFAULT_WEIGHTS, missing={"usage"}).informed_weight == 1.0
    # stored breakdowns from before the field read as fully informed
    old = read_all.model_dump(mode="json")
    del old["informed_weight"], old["uninformed"]
    assert type(read_all).model_validate(old).informed_weight == 1.0


def test_a_departed_champion_on_a_growing_account_abstains_naming_both_sides() -> None:
    items = [
        kind_item("hubspot:contact:1", "champion_left", "champion_status", -0.8),
        kind_item("usage:cus_1:active_users:30d", "usage_grew", "usage_trend", 0.35),
        kind_item("stripe:in_1", "seats_grew", "usage_trend", 0.45),
        kind_item("stripe:in_2", "payments_on_time", "payment_history", 0.3),
        kind_item("slack:C1:2.0", "thanks", "support_sentiment", 0.15),
    ]
    out = verdict_for(ctx(bundle(*items)))
    assert out.classification == "standard" and out.recommended_action == "internal_alert"
    reason = out.abstain_reason or ""
    assert reason.startswith("contradictory_evidence") and "hubspot:contact:1" in reason and "usage_trend" in reason
    # the same account with nobody gone is not contradictory
    assert verdict_for(ctx(bundle(*items[1:]))).abstain_reason is None


def test_an_open_invoice_on_an_account_asking_to_grow_is_expansion_not_a_contradiction() -> None:
    items = [
        kind_item("stripe:in_1", "invoice_past_due", "payment_history", -0.4),
        kind_item("stripe:in_1", "payment_attempts_failed", "payment_history", -0.45),
        kind_item("stripe:in_2", "seats_grew", "usage_trend", 0.5),
        kind_item("usage:cus_1:active_users:30d", "usage_grew", "usage_trend", 0.3),
        kind_item("slack:C1:1.0", "expansion_talk", "usage_trend", 0.35),
        kind_item("hubspot:contact:1", "champion_engaged", "champion_status", 0.2),
    ]
    out = verdict_for(ctx(bundle(*items)))
    assert (out.classification, out.abstain_reason) == ("expansion", None)


def test_seats_bought_say_growth_as_plainly_as_an_ask_when_the_slack_message_is_not_read() -> None:
    """The past-due-but-expanding story with no ask read from Slack (a phrasing the rules do not know, or no
    channel): the seats bought are the deed; the open invoice is one trouble (connectors.stripe.one_trouble)."""
    items = [
        kind_item("stripe:in_1", "invoice_past_due", "payment_history", -0.4),
        kind_item("stripe:in_1", "payment_attempts_failed", "payment_history", -0.05),
        kind_item("stripe:in_2", "seats_grew", "usage_trend", 0.46),
        kind_item("usage:cus_1:active_users:30d", "usage_grew", "usage_trend", 0.21),
    ]
    assert breakdown(items, DEFAULT_WEIGHTS).total < Thresholds().expansion
    assert verdict_for(ctx(bundle(*items))).classification == "expansion"
    # growth that was not bought (usage alone) is not explicit: the open invoice keeps it standard
    unbought = [*items[:2], kind_item("usage:cus_1:active_users:30d", "usage_grew", "usage_trend", 0.6)]
    assert verdict_for(ctx(bundle(*unbought))).classification == "standard"


def test_talk_alone_does_not_make_an_expansion() -> None:
    steady = [
        kind_item("stripe:in_1", "payments_on_time", "payment_history", 0.3),
        kind_item("hubspot:contact:1", "champion_engaged", "champion_status", 0.2),
        kind_item("slack:C1:1.0", "expansion_talk", "usage_trend", 0.35),
        kind_item("slack:C1:2.0", "expansion_talk", "usage_trend", 0.35),
    ]
    assert breakdown(steady, DEFAULT_WEIGHTS).total >= Thresholds().expansion
    assert verdict_for(ctx(bundle(*steady))).classification == "standard"
    grown = [*steady, kind_item("stripe:in_2", "seats_grew", "usage_trend", 0.3)]
    assert verdict_for(ctx(bundle(*grown))).classification == "expansion"


@pytest.mark.parametrize("kind", ["export_request", "competitor_talk"])
def test_asking_for_the_data_or_naming_another_vendor_is_an_explicit_sign_of_leaving(kind: str) -> None:
    troubles = [
        kind_item(f"{src}{n}", "test", factor, signal)
        for src, factor, signal in (
            ("stripe:in_", "payment_history", -0.5),
            ("usage:cus_1:", "usage_trend", -0.5),
            ("hubspot:deal:", "champion_status", -0.4),
            ("slack:C1:", "support_sentiment", -0.4),
        )
        for n in (1, 2)
    ]
    assert verdict_for(ctx(bundle(*troubles))).classification == "at_risk"
    said = kind_item("slack:C1:9.0", kind, "support_sentiment", -0.5)
    assert verdict_for(ctx(bundle(*troubles, said))).classification == "likely_churn"


def test_a_subscription_weeks_old_is_thin_unless_something_decisive_is_said() -> None:
    sub = kind_item(
        "stripe:sub_1", "subscription", "payment_history", 0.0, started=(RUN - dt.timedelta(days=30)).isoformat()
    )
    young = [
        sub,
        kind_item("hubspot:contact:1", "champion_engaged", "champion_status", 0.2),
        kind_item("stripe:in_1", "payment_attempts_failed", "payment_history", -0.15),
    ]
    assert (abstain_reason(young, breakdown(young, DEFAULT_WEIGHTS), RUN) or "").startswith("thin_evidence")
    assert abstain_reason(young, breakdown(young, DEFAULT_WEIGHTS), RUN + dt.timedelta(days=60)) is None
    leaving = [*young, kind_item("slack:C1:1.0", "cancel_talk", "support_sentiment", -0.7)]
    assert abstain_reason(leaving, breakdown(leaving, DEFAULT_WEIGHTS), RUN) is None


# ---- renewal dates (issue #12: monthly billing on annual contracts) ----------------------------------------


def test_the_renewal_date_comes_from_the_most_trusted_source_that_has_one() -> None:
    from core.renewal import RenewalRule, renewal_date

    crm, contract, period = dt.date(2027, 2, 1), dt.date(2027, 2, 2), dt.date(2026, 12, 5)
    meta = {"contract_end_date": contract.isoformat()}
    rule = RenewalRule()
    assert renewal_date(rule, crm=crm, metadata=meta, period_end=period) == (crm, "crm")
    assert renewal_date(rule, metadata=meta, period_end=period) == (contract, "stripe_metadata")
    assert renewal_date(rule, period_end=period) == (period, "billing_period_end")
    # the tenant names its own key (Unix seconds are read too) and its own order
    own = RenewalRule.from_config(
        {"renewal_metadata_key": "term_end", "renewal_date_order": ["stripe_metadata", "crm"]}
    )
    ts = str(int(dt.datetime.combine(contract, dt.time(12), dt.UTC).timestamp()))
    assert renewal_date(own, crm=crm, metadata={"term_end": ts}, period_end=period) == (contract, "stripe_metadata")
    assert renewal_date(own, period_end=period) == (None, None)  # the period end was left out of its order
    with pytest.raises(ValueError, match="renewal_date_order"):
        RenewalRule.from_config({"renewal_date_order": ["crm", "crm"]})


def test_the_evidence_fingerprint_ignores_order_dates_and_prose_but_not_facts() -> None:
    import datetime as dt

    from core.carry import LastVerdict, fingerprint, may_carry
    from schemas.evidence import CustomerProfile, EvidenceBundle, EvidenceItem
    from schemas.verdict import FactorBreakdown

    def item(n: int, late: int, summary: str = "paid late") -> EvidenceItem:
        facts = {"days_late": late}
        return EvidenceItem(
            source_id=f"stripe:in_{n}", kind="k", factor="payment_history", signal=-0.3, summary=summary, facts=facts
        )

    profile = CustomerProfile(
        tenant_id="t", customer_id="c", name="C", email=None, arr_cents=1, contract=None, renewal_date=None
    )
    math = FactorBreakdown(factors=[], total=0.0, thresholds={}, pushed_by=None)
    day = dt.date(2026, 11, 2)

    def fp(items: list[EvidenceItem], run: dt.date = day) -> str:
        return fingerprint(profile, EvidenceBundle(tenant_id="t", customer_id="c", run_date=run, items=items), math)

    base = fp([item(1, 9), item(2, 3)])
    # an operator override the model reads is part of its input: set (or lapsed) re-asks
    bundle = EvidenceBundle(tenant_id="t", customer_id="c", run_date=day, items=[item(1, 9), item(2, 3)])
    assert fingerprint(profile, bundle, math, (), None) == base != fingerprint(profile, bundle, math, (), "held")
    assert base == fp([item(2, 3), item(1, 9, "reworded")], day + dt.timedelta(days=3))
    assert base != fp([item(1, 10), item(2, 3)]) and base != fp([item(1, 9)])  # a changed fact, a source gone
    last = LastVerdict(day, "at_risk", "HIGH", [], "internal_alert", None, False, "m", base, None, 41)
    assert may_carry(last, base, day + dt.timedelta(days=6), 7, "m")
    assert not may_carry(last, base, day + dt.timedelta(days=7), 7, "m")  # the N-day limit
    assert not may_carry(last, base, day + dt.timedelta(days=1), 7, "other")  # another model now
    assert not may_carry(last, base, day + dt.timedelta(days=1), 0, "m")  # off
    carried = LastVerdict(day + dt.timedelta(days=5), "at_risk", "HIGH", [], "x", None, False, "m", base, day, 42)
    assert not may_carry(carried, base, day + dt.timedelta(days=7), 7, "m")  # counted from the reading itself


def test_a_stored_customer_is_dated_by_the_crm_then_stripe_in_the_tenants_order() -> None:
    """What select_due applies once the CRM's close dates are stored beside the dates the Stripe sync kept."""
    from core.renewal import RenewalRule, stored_renewal_date, upcoming

    crm, contract, period = dt.date(2027, 2, 1), dt.date(2027, 2, 2), dt.date(2026, 12, 5)
    billing = {"metadata_renewal_date": contract.isoformat(), "billing_period_end": period.isoformat()}
    assert stored_renewal_date(RenewalRule(), crm, billing) == (crm, "crm")
    assert stored_renewal_date(RenewalRule(), None, billing) == (contract, "stripe_metadata")
    period_first = RenewalRule(order=("billing_period_end", "crm"))
    assert stored_renewal_date(period_first, crm, billing) == (period, "billing_period_end")
    assert stored_renewal_date(RenewalRule(), None, {}) == (None, None)  # no subscription
    # a close date already behind us (a deal left open, last year's won one) gives way to the next source
    assert upcoming(dt.date(2026, 11, 1), RUN) is None and upcoming(crm, RUN) == crm


def test_the_crm_renewal_close_date_is_the_renewal_deals_not_an_expansions() -> None:
    from connectors import hubspot, salesforce

    def deal(i: str, name: str, close: str, pipeline: str = "renewals") -> dict[str, object]:
        return {"id": i, "properties": {"dealname": name, "dealstage": "x", "pipeline": pipeline, "closedate": close}}

    deals = [deal("1", "Acme renewal", "2027-01-10T09:00:00Z"), deal("2", "Acme expansion", "2027-03-01T00:00:00Z")]
    assert hubspot.renewal_close_date(deals, RUN) == dt.date(2027, 1, 10)
    assert hubspot.renewal_close_date([deal("3", "Acme renewal", "2025-01-10")], RUN) is None  # behind us
    assert hubspot.renewal_close_date([deal("4", "Acme renewal", "soon")], RUN) is None  # unreadable
    opps = [
        {"Id": "a", "Name": "Acme 2027", "Type": "Renewal", "CloseDate": "2027-01-20"},
        {"Id": "b", "Name": "Acme seats", "Type": "Expansion", "CloseDate": "2027-04-01"},
        {"Id": "c", "Name": "Acme services", "Type": "New Business", "CloseDate": "2027-06-01"},
    ]
    assert salesforce.renewal_close_date(opps, RUN) == dt.date(2027, 1, 20)
    assert salesforce.renewal_close_date([], RUN) is None


def test_mix_drift_against_a_tenants_own_bands_and_bands_that_cannot_hold() -> None:
    heavy = routing.check_target({"TIER1": (0.3, 0.6), "TIER2": (0.1, 0.3), "TIER3": (0.2, 0.5)})
    book = ["TIER1"] * 45 + ["TIER2"] * 15 + ["TIER3"] * 40
    assert routing.mix_drift(book, heavy) == [] and routing.mix_drift(book) != []
    assert routing.mix_drift(["TIER1"] * 95 + ["TIER3"] * 5, heavy)[0] == "TIER1 at 95% (target 30%-60%)"
    for bad in (
        {"TIER1": (0.3, 0.6), "TIER2": (0.1, 0.3)},
        {"TIER1": (0.6, 0.3), "TIER2": (0.1, 0.3), "TIER3": (0.2, 0.5)},
        {"TIER1": (0.1, 0.2), "TIER2": (0.1, 0.2), "TIER3": (0.1, 0.2)},  # highs below 1: no mix fits
        {"TIER1": (0.3, 0.6), "TIER2": (0.1, 0.3), "TIER3": (0.2, 1.5)},
    ):
        with pytest.raises(ValueError, match="route_mix_target"):
            routing.check_target(bad)
