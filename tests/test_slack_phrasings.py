"""The Slack rules on a table of 510 phrasings (sandbox/phrases.py, written by hand for issue #12, and the
tuning phrasings added in sandbox/phrases_tuning.py): what each says (intent), in what tone, and who says it (the
vendor's CSM talking about exports, seats and pricing is not the customer's voice).

Each row is marked `tuning` or `held_out`. The rules in connectors/slack_voice.py were written against the
tuning rows only, so each of those must read right; the held-out rows were never read while writing them and
are graded as a whole, against a bar, so a new rule cannot quietly be fitted to them row by row.
"""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.slack import channel_signals
from sandbox.phrases import BANKS, table
from sandbox.phrases_tuning import MORE
from tests.conftest import AS_OF

OWN_TEAM, CUSTOMER_TEAM = "T0VENDOR", "T0CUSTOMER"
KIND = {
    "expansion": "expansion_talk",
    "cancel": "cancel_talk",
    "export": "export_request",
    "competitor": "competitor_talk",
    "pricing": "pricing_question",
    "trouble": "service_trouble",
    "handover": "champion_handover",
    "none": None,
}
ROWS = table()
HELD_OUT_BAR = 0.85  # the share of held-out phrasings read right; measured 0.89 when the rules were written


def read(text: str, speaker: str) -> list[str]:
    """The kinds of evidence one message yields, posted 3 days ago with a thread reply (so no unanswered
    question), stamped with its poster's Slack Connect team."""
    team = OWN_TEAM if speaker == "vendor" else CUSTOMER_TEAM
    sent = int(dt.datetime.combine(AS_OF - dt.timedelta(days=3), dt.time(9), dt.UTC).timestamp())
    msg = {
        "type": "message",
        "user": "U0CSM" if speaker == "vendor" else "U0CUST",
        "text": text.format(champion="Ana Berg"),
        "ts": f"{sent}.000100",
        "reply_count": 1,
        "team": team,
        "user_team": team,
    }
    return [i.kind for i in channel_signals("C1", [msg], AS_OF, own_team=OWN_TEAM)]


def right(text: str, intent: str, tone: str | None, speaker: str) -> bool:
    kinds = read(text, speaker)
    if speaker == "vendor":
        return kinds == []  # the vendor's words are never the customer's evidence
    want = KIND[intent]
    said = [k for k in kinds if k not in ("thanks", "negative_tone")]
    if said != ([want] if want else []):
        return False
    if tone == "positive":
        return "thanks" in kinds
    if tone == "negative":
        return bool(set(kinds) & {"service_trouble", "negative_tone"})
    if tone == "neutral":
        return "thanks" not in kinds and "negative_tone" not in kinds
    return True


def test_the_table_is_big_enough_and_at_least_half_held_out_per_bank() -> None:
    assert len(ROWS) >= 200
    # Of the banks written for issue #12, at least half of each is held out. The tuning phrasings added since
    # (sandbox/phrases_tuning.py, at least 15 per bank) are graded apart by an independent book, not by these.
    assert all(len(b.held_out) >= len(b.tuning) for b in BANKS.values())
    assert set(MORE) == set(BANKS) and all(len(more) >= 15 for more in MORE.values())
    held = [r for r in ROWS if r[4] == "held_out"]
    assert len(held) == sum(len(b.held_out) for b in BANKS.values())
    assert {r[3] for r in ROWS} == {"customer", "vendor"} and {r[2] for r in ROWS} >= {"positive", "negative"}


@pytest.mark.parametrize(
    "text, intent, tone, speaker", [r[:4] for r in ROWS if r[4] == "tuning"], ids=lambda v: str(v)[:40]
)
def test_tuning_phrasings_read_right(text: str, intent: str, tone: str | None, speaker: str) -> None:
    assert right(text, intent, tone, speaker), read(text, speaker)


def test_held_out_phrasings_read_right_often_enough() -> None:
    held = [r for r in ROWS if r[4] == "held_out"]
    ok = sum(right(*r[:4]) for r in held)
    print(f"\nheld-out Slack phrasings read right: {ok}/{len(held)} ({ok / len(held):.0%})")
    assert ok / len(held) >= HELD_OUT_BAR
    # the vendor's side is told apart on every held-out row, whatever its words
    assert all(right(*r[:4]) for r in held if r[3] == "vendor")


def test_without_a_team_stamp_the_posters_email_domain_tells_the_sides_apart() -> None:
    sent = int(dt.datetime.combine(AS_OF - dt.timedelta(days=3), dt.time(9), dt.UTC).timestamp())
    msgs = [
        {"type": "message", "user": "U1", "text": "Following up on the export tooling question.", "ts": f"{sent}.1"},
        {"type": "message", "user": "U2", "text": "How do we export all of our data?", "ts": f"{sent}.2"},
    ]
    users = {
        "U1": {"id": "U1", "profile": {"email": "amara@vendor.example"}},
        "U2": {"id": "U2", "profile": {"email": "ana@acme.example"}},
    }
    items = channel_signals("C1", msgs, AS_OF, users=users, customer_domain="acme.example")
    assert [(i.kind, i.facts["user"]) for i in items if i.kind == "export_request"] == [("export_request", "U2")]
