"""The weekly digest's rules as pure functions: what is summed, what is a move, what is held for an operator,
and a Slack message that names every account behind a figure and cannot be broken by what customers write."""

from __future__ import annotations

import datetime as dt
import json

from core.digest import TOP, Reading, digest, render_blocks, render_text

WEEK = dt.date(2026, 11, 23)


def reading(cid: str, verdict: str, severity: str, arr: float, diary: str | None = None) -> Reading:
    return Reading(
        customer_id=cid,
        name=f"Customer {cid}",
        arr_usd=arr,
        classification=verdict,
        severity=severity,
        run_date=WEEK - dt.timedelta(days=1),
        cited=[f"stripe:in_{cid}"],
        diary=diary,
    )


def test_the_figures_sum_the_accounts_they_name_and_held_verdicts_stay_apart() -> None:
    now = [
        reading("a", "likely_churn", "HIGH", 50_000, "Champion left [hubspot:contact:1]."),
        reading("b", "at_risk", "MEDIUM", 20_000),
        reading("c", "expansion", "LOW", 8_000),
        reading("d", "standard", "LOW", 99_000),
    ]
    before = {"a": reading("a", "standard", "LOW", 50_000), "c": reading("c", "expansion", "LOW", 8_000)}
    held = [reading("e", "standard", "LOW", 70_000)]
    d = digest(WEEK, now, before, held)
    assert d["arr_at_risk_usd"] == 70_000 == sum(a["arr_usd"] for a in d["at_risk"])
    assert d["arr_in_expansion_usd"] == 8_000 and [a["customer_id"] for a in d["high"]] == ["a"]
    assert [(m["customer_id"], m["from"], m["to"], m["worse"]) for m in d["movers"]] == [
        ("a", "standard/LOW", "likely_churn/HIGH", True)
    ]
    assert [a["customer_id"] for a in d["held"]] == ["e"] and "Held for review" in render_text(d)
    blocks = json.dumps(render_blocks(d))
    assert "Champion left [hubspot:contact:1]." in blocks  # the diary line that justifies the move
    assert "Held for review* (1" in blocks


def test_a_long_week_says_how_many_more_and_stays_within_slack_limits() -> None:
    many = [reading(str(n), "likely_churn", "HIGH", 1_000 + n, "x " * 400) for n in range(TOP + 7)]
    many[0] = Reading(**{**many[0].__dict__, "name": "<!channel> & Co", "arr_usd": 400_000})
    d = digest(WEEK, many, {c.customer_id: reading(c.customer_id, "standard", "LOW", 1) for c in many})
    assert "… and 7 more" in render_text(d)
    blocks = render_blocks(d)
    text = json.dumps(blocks)
    assert "and 7 more" in text and "<!channel>" not in text and "&lt;!channel&gt; &amp; Co" in text
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
