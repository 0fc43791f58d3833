"""Freshness and weight profiles as pure logic: which evidence is stale, when a verdict rests mainly on it, and
which segment profile judges which customer with which weights and thresholds."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from activities.judge import checked, judged_by
from core import freshness
from core.factors import DEFAULT_WEIGHTS, breakdown
from core.profiles import ProfilesIn, SegmentRules, WeightProfile, WeightVersion, matches, pick, weighting
from llm.base import CustomerContext
from llm.offline import verdict_for
from schemas.evidence import CustomerProfile, EvidenceBundle, EvidenceItem
from schemas.offers import EmailSettings
from schemas.verdict import VerdictRow

RUN = dt.date(2026, 11, 22)


def ev(sid: str, kind: str, factor: str, signal: float, days_old: int | None) -> EvidenceItem:
    return EvidenceItem(
        source_id=sid,
        kind=kind,
        factor=factor,  # type: ignore[arg-type]
        signal=signal,
        summary=f"{kind} {signal}",
        observed_on=None if days_old is None else RUN - dt.timedelta(days=days_old),
    )


def customer(arr_usd: float = 10_000, started_days_ago: int | None = 400, plan: str | None = None) -> CustomerProfile:
    billing: dict[str, str | None] = {"plan": plan}
    if started_days_ago is not None:
        billing["started"] = (RUN - dt.timedelta(days=started_days_ago)).isoformat()
    return CustomerProfile(
        tenant_id="t",
        customer_id="cus_1",
        name="Acme",
        email="ops@acme.test",
        arr_cents=int(arr_usd * 100),
        contract="annual",
        renewal_date=RUN + dt.timedelta(days=40),
        billing=billing,
    )


# Churn read mostly from the CRM and Slack, whose records are weeks past their limits; one fresh invoice.
STALE_CHURN = [
    ev("hubspot:deal:1", "renewal_deal_at_risk", "champion_status", -0.8, 75),
    ev("slack:C1:1700000000.1", "cancel_talk", "support_sentiment", -0.7, 40),
    ev("stripe:in_1", "invoice_paid_late", "payment_history", -0.2, 10),
]
FRESH_CHURN = [
    ev("hubspot:deal:1", "renewal_deal_at_risk", "champion_status", -0.8, 5),
    ev("slack:C1:1700000000.1", "cancel_talk", "support_sentiment", -0.7, 2),
    ev("stripe:in_1", "invoice_paid_late", "payment_history", -0.2, 10),
]


def test_each_source_has_its_limit_and_absences_are_read_as_of_the_scan() -> None:
    limits = freshness.limits_of({"slack": 30, "nonsense": 1})
    assert limits == {"usage": 3, "hubspot": 30, "salesforce": 30, "slack": 30, "stripe": 400}
    assert freshness.is_stale(ev("usage:cus_1:active_users:7d", "usage_fell", "usage_trend", -0.3, 4), RUN, limits)
    assert not freshness.is_stale(ev("usage:cus_1:active_users:7d", "usage_fell", "usage_trend", -0.3, 3), RUN, limits)
    assert freshness.is_stale(ev("hubspot:deal:1", "renewal_deal_at_risk", "champion_status", -0.4, 31), RUN, limits)
    assert not freshness.is_stale(ev("stripe:in_1", "invoice_paid_late", "payment_history", -0.3, 380), RUN, limits)
    # The champion quiet for 90 days is what today's read saw: not stale, however long the silence.
    assert not freshness.is_stale(
        ev("slack:C1:U1", "champion_quiet_in_slack", "champion_status", -0.45, 90), RUN, limits
    )
    assert not freshness.is_stale(ev("stripe:in_2", "payments_on_time", "payment_history", 0.2, None), RUN, limits)
    # A lost renewal deal or a departed champion is final: the record is not touched again, and still says so.
    assert not freshness.is_stale(ev("hubspot:deal:2", "renewal_deal_lost", "champion_status", -0.9, 90), RUN, limits)
    assert not freshness.is_stale(ev("hubspot:contact:2", "champion_left", "champion_status", -0.8, 90), RUN, limits)
    assert not freshness.is_stale(ev("diary:7", "renewal_at_risk", "champion_status", -0.5, 99), RUN, limits)


def test_a_verdict_resting_mainly_on_stale_evidence_abstains() -> None:
    limits = freshness.limits_of({})
    b = EvidenceBundle(tenant_id="t", customer_id="cus_1", run_date=RUN, items=STALE_CHURN)
    marked = freshness.mark(b, limits)
    assert [i.source_id for i in marked.items if i.stale] == ["hubspot:deal:1", "slack:C1:1700000000.1"]
    assert not any(i.stale for i in b.items)  # the stored evidence is not touched
    version = WeightVersion(version=3, actor="x", default_weights=DEFAULT_WEIGHTS, profiles=[])
    math = judged_by(marked, version, customer())
    assert math.stale == ["hubspot:deal:1", "slack:C1:1700000000.1"]
    ctx = CustomerContext(profile=customer(), bundle=marked, breakdown=math)
    row = verdict_for(ctx)
    assert row.classification == "standard" and row.recommended_action == "internal_alert" and row.email is None
    assert (row.abstain_reason or "").startswith("stale_evidence: 79%")  # 0.8*0.2 + 0.7*0.15 of 0.335
    assert "renewal deal at risk [hubspot:deal:1] 75 days old" in (row.abstain_reason or "")

    # The same evidence, fresh: judged, not held.
    fresh = freshness.mark(b.model_copy(update={"items": FRESH_CHURN}), limits)
    fresh_row = verdict_for(
        CustomerContext(profile=customer(), bundle=fresh, breakdown=judged_by(fresh, version, customer()))
    )
    assert fresh_row.abstain_reason is None and fresh_row.classification in ("at_risk", "likely_churn")


def test_a_vendor_model_that_judges_stale_evidence_anyway_is_held() -> None:
    bundle = EvidenceBundle(tenant_id="t", customer_id="cus_1", run_date=RUN, items=STALE_CHURN)
    marked = freshness.mark(bundle, freshness.limits_of({}))
    version = WeightVersion(version=2, actor="x", default_weights=DEFAULT_WEIGHTS, profiles=[])
    ctx = CustomerContext(profile=customer(), bundle=marked, breakdown=judged_by(marked, version, customer()))
    row = VerdictRow(
        customer_id="cus_1",
        classification="likely_churn",
        severity="HIGH",
        cited_source_ids=["hubspot:deal:1"],
        diary="The renewal deal is at risk [hubspot:deal:1].",
        recommended_action="internal_alert",
    )
    out, notes, rendered = checked(row, ctx, "TIER2", EmailSettings())
    assert out.classification == "standard" and (out.abstain_reason or "").startswith("stale_evidence")
    assert any("stale_evidence" in n for n in notes)
    assert rendered["rendered_diary"].endswith("Weighed by the default profile, weights version 2.")


def test_stale_share_weighs_by_factor() -> None:
    items = [
        ev("slack:C1:1", "cancel_talk", "support_sentiment", -0.5, 30).model_copy(update={"stale": True}),
        ev("stripe:in_1", "invoice_past_due", "payment_history", -0.5, 5),
    ]
    b = breakdown(items, DEFAULT_WEIGHTS)
    assert freshness.stale_share(items, b) == pytest.approx(0.15 / 0.50)
    assert freshness.stale_reason(items, b, RUN) is None  # stale, but not mainly


ENTERPRISE = WeightProfile(
    name="enterprise",
    rules=SegmentRules(arr_min_usd=100_000),
    weights={"payment_history": 0.2, "usage_trend": 0.3, "champion_status": 0.4, "support_sentiment": 0.1},
    thresholds={"at_risk": -0.1},  # type: ignore[arg-type]
)
NEW = WeightProfile(
    name="new accounts",
    rules=SegmentRules(age_max_days=180, plans=["starter", "monthly"]),
    weights={"payment_history": 0.6, "usage_trend": 0.4, "champion_status": 0.0, "support_sentiment": 0.0},
)
VERSION = WeightVersion(version=4, actor="admin", default_weights=DEFAULT_WEIGHTS, profiles=[ENTERPRISE, NEW])


def test_segment_profiles_judge_the_right_customers() -> None:
    assert pick(VERSION, customer(arr_usd=250_000), RUN) == ENTERPRISE
    # Both profiles match a young enterprise starter: the first in order wins.
    assert pick(VERSION, customer(arr_usd=250_000, started_days_ago=30, plan="starter"), RUN) == ENTERPRISE
    assert pick(VERSION, customer(arr_usd=20_000, started_days_ago=30, plan="Starter"), RUN) == NEW
    assert pick(VERSION, customer(arr_usd=20_000, started_days_ago=200, plan="starter"), RUN) is None  # too old
    assert pick(VERSION, customer(arr_usd=20_000, started_days_ago=30, plan="growth"), RUN) is None  # annual
    assert not matches(SegmentRules(age_max_days=180), customer(started_days_ago=None), RUN)  # age unknown
    assert matches(SegmentRules(arr_min_usd=10_000, arr_max_usd=50_000), customer(arr_usd=10_000), RUN)
    assert not matches(SegmentRules(arr_min_usd=10_000, arr_max_usd=50_000), customer(arr_usd=50_000), RUN)

    name, weights, t = weighting(VERSION, customer(arr_usd=250_000), RUN)
    assert (name, weights["champion_status"], t.at_risk, t.likely_churn) == ("enterprise", 0.4, -0.1, -0.6)
    assert weighting(VERSION, customer(), RUN)[0] == "default"


def test_the_profile_s_weights_and_thresholds_decide_the_verdict() -> None:
    items = [
        ev("hubspot:contact:1", "champion_quiet", "champion_status", -0.4, 3),
        ev("stripe:in_1", "invoice_paid_late", "payment_history", -0.2, 10),
        ev("usage:cus_1:active_users:7d", "usage_fell", "usage_trend", -0.1, 1),
    ]
    bundle = EvidenceBundle(tenant_id="t", customer_id="cus_1", run_date=RUN, items=items)
    small, big = customer(arr_usd=20_000), customer(arr_usd=250_000)
    by_default = verdict_for(CustomerContext(profile=small, bundle=bundle, breakdown=judged_by(bundle, VERSION, small)))
    enterprise_math = judged_by(bundle, VERSION, big)
    by_enterprise = verdict_for(CustomerContext(profile=big, bundle=bundle, breakdown=enterprise_math))
    assert (enterprise_math.profile, enterprise_math.weights_version) == ("enterprise", 4)
    assert enterprise_math.thresholds["at_risk"] == -0.1
    assert by_default.classification == "standard"  # -0.18 by the default weights: above -0.20
    assert by_enterprise.classification == "at_risk"  # the champion weighs more, the line is nearer


def test_profiles_are_checked() -> None:
    with pytest.raises(ValidationError, match="sum to 1.0"):
        WeightProfile(name="x", rules=SegmentRules(), weights={**DEFAULT_WEIGHTS, "payment_history": 0.5})
    with pytest.raises(ValidationError, match="likely_churn < at_risk"):
        WeightProfile(name="x", rules=SegmentRules(), weights=DEFAULT_WEIGHTS, thresholds={"at_risk": -0.7})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="unique"):
        ProfilesIn(profiles=[ENTERPRISE, ENTERPRISE])
    with pytest.raises(ValidationError, match="unique"):
        ProfilesIn(profiles=[ENTERPRISE.model_copy(update={"name": "default"})])
