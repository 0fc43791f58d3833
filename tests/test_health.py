"""The health briefing's rules as pure functions: tiers, the urgency ranking, recommendations that cite their
signal, and the Block Kit message (a snapshot a person can read)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from core.health import Health, assess, briefing_blocks, diary_item, rank, summary
from schemas.evidence import EvidenceItem
from tests.conftest import AS_OF


def item(kind: str, signal: float, sid: str = "stripe:in_1", factor: str = "payment_history") -> EvidenceItem:
    return EvidenceItem(
        source_id=sid,
        kind=kind,
        factor=factor,
        signal=signal,  # type: ignore[arg-type]
        summary=f"{kind} happened",
    )


def test_tiers_and_urgency_follow_the_rules() -> None:
    assert assess("c", "C", 1, [item("invoice_past_due", -0.4)]).urgency == 0
    cold = assess("c", "C", 1, [item("usage_fell", -0.5, "usage:c:active_users:30d", "usage_trend")])
    assert (cold.tier, cold.urgency, cold.recommendation.split(":")[0]) == ("cold", 1, "Send a check-in email")
    spike = assess("c", "C", 1, [item("error_spike", -0.3, "usage:c:errors:2d", "support_sentiment")])
    assert spike.recommendation.startswith("Investigate the error spike") and spike.cites == "usage:c:errors:2d"
    hot = assess("c", "C", 1, [item("seats_grew", 0.5), item("payments_on_time", 0.3)])
    assert (hot.tier, hot.urgency) == ("hot", 2) and hot.recommendation.startswith("Offer a plan upgrade")
    assert assess("c", "C", 1, [item("payments_on_time", 0.3)]).tier == "warm"
    # one invoice a few days late is noise, not a cold account
    assert assess("c", "C", 1, [item("invoice_paid_late", -0.1)]).tier == "warm"


def test_the_renewal_scans_verdict_is_one_more_signal() -> None:
    churn = diary_item(41, AS_OF, "likely_churn", "HIGH", "champion_status")
    assert churn is not None and churn.source_id == "diary:41" and churn.factor == "champion_status"
    assert diary_item(42, AS_OF, "standard", "LOW", None) is None  # nothing to act on
    quiet = assess("c", "C", 1, [item("payments_on_time", 0.3), churn])
    assert (quiet.tier, quiet.urgency, quiet.cites) == ("cold", 1, "diary:41")
    assert "renewal scan of 2026-11-22 read it likely churn (HIGH), moved by champion status" in quiet.recommendation
    # billing trouble stays the first thing to say; growth does not outweigh the scan's read of risk
    assert assess("c", "C", 1, [item("invoice_past_due", -0.4), churn]).cites == "stripe:in_1"
    assert assess("c", "C", 1, [item("seats_grew", 0.5), churn]).tier == "cold"
    grows = diary_item(43, AS_OF, "expansion", "LOW", "usage_trend")
    assert grows is not None and assess("c", "C", 1, [grows]).tier == "hot"
    # beside a concrete growth signal, the recommendation cites that one (its numbers are the better pitch)
    assert assess("c", "C", 1, [grows, item("seats_grew", 0.3, "stripe:sub_1")]).cites == "stripe:sub_1"


KINDS = [
    "invoice_past_due",
    "payment_attempts_failed",
    "usage_fell",
    "error_spike",
    "seats_grew",
    "usage_grew",
    "payments_on_time",
    "subscription",
]


@given(st.lists(st.tuples(st.sampled_from(KINDS), st.floats(-1, 1), st.floats(0, 500_000)), max_size=40))
def test_the_ranking_puts_payment_trouble_first_and_warm_last(rows: list[tuple[str, float, float]]) -> None:
    accounts = [
        assess(f"c{i}", f"C{i}", arr, [item(kind, sig, f"stripe:in_{i}")]) for i, (kind, sig, arr) in enumerate(rows)
    ]
    ranked = rank(accounts)
    assert [a.urgency for a in ranked] == sorted(a.urgency for a in ranked)
    assert sorted(ranked, key=lambda a: a.customer_id) == sorted(accounts, key=lambda a: a.customer_id)
    for a in ranked:  # every recommendation cites a signal of its own account, or says there is nothing to do
        assert a.cites is None or a.cites == f"stripe:in_{a.customer_id[1:]}"


def test_the_briefing_reads_well() -> None:
    accounts = [
        Health(
            "c1", "Acme Labs", 120000, "cold", 0, "Call about billing: invoice in_9 is 12 days past due", "stripe:in_9"
        ),
        Health("c2", "Globex", 30000, "hot", 2, "Offer a plan upgrade: seats went from 10 to 16 (+60%)", "stripe:in_4"),
        Health("c3", "Initech", 9000, "warm", 3, "No action: steady, no red flags", None),
    ]
    text = json.dumps(briefing_blocks("demo", "2026-11-23", summary(accounts)), indent=1)
    assert "1 hot" in text and "1 warm" in text and "1 cold" in text
    assert text.index("Acme Labs") < text.index("Globex")  # urgency order
    assert "`stripe:in_9`" in text and "Initech" not in text.split("Most urgent")[1].split("Expansion")[0]
    assert "Expansion opportunities" in text


def test_what_customers_and_models_write_cannot_break_or_ping_the_channel() -> None:
    loud = Health("c1", "<!channel> & Sons", 5000, "cold", 1, "Send a check-in email: <@U123> " + "x" * 400, "usage:c1")
    blocks = briefing_blocks("demo", "2026-11-23", summary([loud] * 20))
    text = json.dumps(blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; Sons" in text and "<@U123>" not in text
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)  # Slack refuses the whole message above it


def test_a_model_reading_is_kept_only_when_its_citation_and_numbers_check_out() -> None:
    from core.health import HealthRow, check_reading

    items = [
        item("usage_fell", -0.5, "usage:c:active_users:30d", "usage_trend"),
        EvidenceItem(
            source_id="stripe:in_7",
            kind="invoice_paid_late",
            factor="payment_history",
            signal=-0.3,
            summary="Invoice in_7 for $1,200.00 was paid 21 days late",
            facts={"days_late": 21},
        ),
    ]
    rules = assess("c", "C", 1, items)

    def read(tier: str, rec: str, cites: str | None) -> tuple[Health, str | None]:
        return check_reading(HealthRow(customer_id="c", tier=tier, recommendation=rec, cites=cites), items, rules)

    kept, why = read("cold", "Call about billing: an invoice was paid 21 days late", "STRIPE:in_7")
    assert why is None and (kept.tier, kept.urgency, kept.cites) == ("cold", 0, "stripe:in_7")
    assert read("cold", "Call them", "stripe:in_999")[0] == rules  # not in the evidence
    assert "not in this account's evidence" in str(read("cold", "Call them", "stripe:in_999")[1])
    assert (
        read("cold", "An invoice was paid 45 days late", "stripe:in_7")[1]
        == "the model's recommendation has numbers not in stripe:in_7: 45"
    )
    assert read("hot", "Offer a plan upgrade", None)[0] == rules  # hot needs a signal
    # payment trouble stays in the first band, whatever the model says and whichever signal it cites
    assert read("warm", "No action needed", None) == (
        rules,
        "the model called it warm, but stripe:in_7 shows payment trouble",
    )
    usage_cold, _ = read("cold", "Send a check-in email: usage fell", "usage:c:active_users:30d")
    assert (usage_cold.tier, usage_cold.urgency) == ("cold", 0)
    quiet = [items[0]]
    calm, why = check_reading(
        HealthRow(customer_id="c", tier="warm", recommendation="No action needed"), quiet, assess("c", "C", 1, quiet)
    )
    assert why is None and (calm.tier, calm.urgency, calm.cites) == ("warm", 3, None)
    cold, _ = check_reading(
        HealthRow(
            customer_id="c", tier="cold", recommendation="Check in: usage fell", cites="usage:c:active_users:30d"
        ),
        quiet,
        assess("c", "C", 1, quiet),
    )
    assert cold.urgency == 1  # declining usage, no payment trouble: the second band


def late(days: int, sid: str = "stripe:in_1") -> EvidenceItem:
    signal = -0.35 if days >= 30 else -0.2 if days >= 7 else -0.1
    return item("invoice_paid_late", signal, sid).model_copy(update={"facts": {"days_late": days}})


def test_one_invoice_retried_and_paid_soon_after_is_not_cold() -> None:
    # issue #12: a payment retried once and paid the next day was tiered cold
    retried = item("payment_retried", -0.05)
    assert assess("c", "C", 1, [retried, item("payments_on_time", 0.3)]).tier == "warm"
    # declined three times and paid eight days late, once: settled, a blip
    once = [item("payment_attempts_failed", -0.45), late(8)]
    assert assess("c", "C", 1, once).tier == "warm"
    # the same on two invoices, or a month late, or still open: payment trouble
    assert assess("c", "C", 1, [*once, late(9, "stripe:in_2")]).tier == "cold"
    assert assess("c", "C", 1, [item("payment_attempts_failed", -0.45), late(31)]).tier == "cold"
    assert assess("c", "C", 1, [item("payment_attempts_failed", -0.45), item("invoice_past_due", -0.4)]).tier == "cold"


def test_billing_trouble_on_a_growing_account_is_warm_and_still_first_in_line() -> None:
    growing = [item("invoice_past_due", -0.4), item("seats_grew", 0.45, "stripe:sub_1", "usage_trend")]
    h = assess("c", "C", 1, growing)
    assert (h.tier, h.urgency, h.cites) == ("warm", 0, "stripe:in_1")
    falling = [*growing, item("usage_fell", -0.4, "usage:c:active_users:30d", "usage_trend")]
    assert assess("c", "C", 1, falling).tier == "cold"
