"""The judgement rules changed while closing issue #12's held-out gaps, one table each: who speaks in a channel
whose messages are only partly stamped with their team, and what "stale" means for Slack (talk the customer has
moved on from, not a channel that went quiet)."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.slack import channel_signals, voices_to_check
from core import freshness
from core.changes import evidence_changes
from core.factors import DEFAULT_WEIGHTS, abstain_reason, breakdown, strong_leaving
from schemas.evidence import EvidenceItem

RUN = dt.date(2026, 11, 22)
OWN, THEIRS = "T0VENDOR", "T0CUSTOMER"


def msg(user: str, text: str, days_ago: int, k: int = 0, team: str | None = None) -> dict[str, object]:
    sent = int(dt.datetime.combine(RUN - dt.timedelta(days=days_ago), dt.time(9), dt.UTC).timestamp())
    m: dict[str, object] = {"type": "message", "user": user, "text": text, "ts": f"{sent}.{k:06d}"}
    if team:
        m.update(team=team, user_team=team)
    return m


@pytest.mark.parametrize(
    ("csm_stamped_elsewhere", "expected"),
    [
        (True, []),  # one stamped message tells the CSM's team for the unstamped one
        (False, [("competitor_talk", "U0CSM")]),  # nothing tells (no users.info record given): the customer
    ],
)
def test_an_unstamped_message_takes_its_posters_team_from_their_stamped_ones(
    csm_stamped_elsewhere: bool, expected: list[tuple[str, str]]
) -> None:
    msgs = [
        msg("U0CSM", "We're comparing notes internally on how other vendors handle SSO.", 2, 1),
        msg("U0CSM", "Happy Friday! The new release is out.", 5, 2, OWN if csm_stamped_elsewhere else None),
        msg("U0ANA", "Thanks, all good here.", 3, 3, THEIRS),
    ]
    items = channel_signals("C1", msgs, RUN, own_team=OWN)
    assert [(i.kind, i.facts["user"]) for i in items if i.kind == "competitor_talk"] == expected


def slack_item(said_days_ago: int, latest_word_days_ago: int | None, kind: str = "cancel_talk") -> EvidenceItem:
    facts = (
        {} if latest_word_days_ago is None else {freshness.LATEST_WORD: str(RUN - dt.timedelta(latest_word_days_ago))}
    )
    return EvidenceItem(
        source_id=f"slack:C1:{said_days_ago}.1",
        kind=kind,
        factor="support_sentiment",
        signal=-0.7,
        summary="talk",
        facts=facts,
        observed_on=RUN - dt.timedelta(days=said_days_ago),
    )


@pytest.mark.parametrize(
    ("said", "latest_word", "age", "stale"),
    [
        (60, 60, 0, False),  # a quiet channel: the customer's last word, however old, is still their latest
        (60, 55, 5, False),  # the same burst of talk
        (60, 40, 20, True),  # the customer has talked on for weeks since: moved on
        (30, 2, 28, True),
        (10, 2, 8, False),
        (20, None, 20, True),  # no latest word known (stored before the rule): aged from the run date as before
        (10, None, 10, False),
    ],
)
def test_slack_talk_is_aged_from_the_customers_latest_word(
    said: int, latest_word: int | None, age: int, stale: bool
) -> None:
    item = slack_item(said, latest_word)
    assert freshness.age_days(item, RUN) == age
    assert freshness.is_stale(item, RUN, freshness.DEFAULT_LIMITS) is stale


def test_the_connector_stamps_each_item_with_the_customers_latest_word_and_a_quiet_channel_stays_fresh() -> None:
    quiet = [
        msg("U0ANA", "We plan to cancel our subscription at renewal.", 50, 1, THEIRS),
        msg("U0CSM", "Checking in - anything we can help with?", 3, 2, OWN),  # the vendor's word does not count
    ]
    talking = [msg("U0ANA", "Thanks, the fix works perfectly!", 4, 3, THEIRS), *quiet]
    for msgs, latest, stale in ((quiet, 50, False), (talking, 4, True)):
        items = channel_signals("C1", msgs, RUN, own_team=OWN)
        cancel = next(i for i in items if i.kind == "cancel_talk")
        assert cancel.facts[freshness.LATEST_WORD] == str(RUN - dt.timedelta(days=latest))
        assert freshness.is_stale(cancel, RUN, freshness.DEFAULT_LIMITS) is stale


def test_silences_are_still_read_as_of_the_scan() -> None:
    item = slack_item(90, 90, kind="champion_quiet_in_slack")
    assert freshness.age_days(item, RUN) == 0


def handover_channel() -> list[dict[str, object]]:
    """The champion wrote most; a new voice on the customer's side has written since (in words no rule reads)."""
    return [
        msg("U0NEW", "Hello! Looking forward to working together.", 2, 1, THEIRS),
        msg("U0ANA", "Report looks good.", 20, 2, THEIRS),
        msg("U0ANA", "Can you resend the invoice?", 30, 3, THEIRS),
        msg("U0CSM", "Sure, done.", 29, 4, OWN),
    ]


def three(ana_days_ago: int, bo_days_ago: int, ana_twice: bool = False) -> list[dict[str, object]]:
    """A newcomer spoke last; the old champion and a colleague before, in either order."""
    ana = [msg("U0ANA", "Ok.", ana_days_ago, 3, THEIRS)] + ([msg("U0ANA", "Sure.", 40, 4, THEIRS)] * ana_twice)
    return [msg("U0NEW", "Hi!", 1, 1, THEIRS), msg("U0BO", "Nice.", bo_days_ago, 2, THEIRS), *ana]


@pytest.mark.parametrize(
    ("messages", "voices"),
    [
        (handover_channel(), ["U0ANA"]),  # someone else spoke last: worth asking whether the champion is gone
        (handover_channel()[1:], []),  # the champion spoke last: nothing to ask
        ([handover_channel()[3]], []),  # only the vendor spoke
        # as many words from a colleague as from the old champion and the newcomer: both, the one silent longest
        # first (at most two users.info calls for a channel)
        (three(9, 3), ["U0ANA", "U0BO"]),
        (three(3, 9), ["U0BO", "U0ANA"]),
        (three(3, 9, ana_twice=True), ["U0ANA", "U0BO"]),  # the one who wrote most first
    ],
)
def test_the_main_voices_are_checked_only_where_a_new_voice_spoke_after_them(
    messages: list[dict[str, object]], voices: list[str]
) -> None:
    assert voices_to_check(messages, OWN, {}, None) == voices


@pytest.mark.parametrize(
    ("record", "kinds"),
    [
        ({"id": "U0ANA", "deleted": True, "profile": {"real_name": "Ana Silva"}}, ["champion_left"]),
        ({"id": "U0ANA", "deleted": False}, []),
        (None, []),  # not asked: nothing said either way
    ],
)
def test_a_deactivated_champion_account_is_a_departure_whatever_the_words(
    record: dict[str, object] | None, kinds: list[str]
) -> None:
    users = {"U0ANA": record} if record else {}
    items = channel_signals("C1", handover_channel(), RUN, own_team=OWN, users=users)
    assert [i.kind for i in items if i.factor == "champion_status"] == kinds
    left = [i for i in items if i.kind == "champion_left"]
    assert all(not freshness.is_stale(i, RUN, freshness.DEFAULT_LIMITS) and i.signal <= -0.7 for i in left)


def sign(sid: str, kind: str, factor: str, signal: float) -> EvidenceItem:
    return EvidenceItem(source_id=sid, kind=kind, factor=factor, signal=signal, summary=kind, observed_on=RUN)  # type: ignore[arg-type]


GROWING = [
    sign("usage:c:active_users:30d", "usage_grew", "usage_trend", 0.35),
    sign("stripe:in_2", "seats_grew", "usage_trend", 0.45),
    sign("stripe:in_2", "payments_on_time", "payment_history", 0.3),
    sign("hubspot:contact:2", "champion_engaged", "champion_status", 0.2),
]


@pytest.mark.parametrize(
    ("leaving", "contradictory"),
    [
        ([], False),
        # one message read as leaving is one reading of one sentence: judged by the total, not held
        ([sign("slack:C1:1.0", "export_request", "support_sentiment", -0.5)], False),
        ([sign("slack:C1:1.0", "competitor_talk", "support_sentiment", -0.6)], False),
        ([sign("slack:C1:1.0", "champion_handover", "champion_status", -0.5)], False),
        # two messages say it, or a record does: strong evidence both ways
        (
            [
                sign("slack:C1:1.0", "export_request", "support_sentiment", -0.5),
                sign("slack:C1:2.0", "competitor_talk", "support_sentiment", -0.6),
            ],
            True,
        ),
        ([sign("hubspot:contact:1", "champion_left", "champion_status", -0.8)], True),
        ([sign("slack:C1:3.0", "champion_left", "champion_status", -0.8)], True),  # a deactivated Slack account
        ([sign("stripe:sub_1", "cancel_at_period_end", "payment_history", -0.9)], True),
    ],
)
def test_growth_is_contradicted_only_by_a_record_or_more_than_one_message(
    leaving: list[EvidenceItem], contradictory: bool
) -> None:
    items = GROWING + leaving
    reason = abstain_reason(items, breakdown(items, DEFAULT_WEIGHTS), RUN) or ""
    assert reason.startswith("contradictory_evidence") is contradictory, reason
    assert [i.source_id for i in strong_leaving(items)] == ([i.source_id for i in leaving] if contradictory else [])


def test_the_freshness_clock_moving_is_not_a_change_to_the_message() -> None:
    before, after = slack_item(20, 20), slack_item(20, 3)
    assert evidence_changes([before], [after]) == []
    moved = after.model_copy(update={"signal": -0.5})
    assert [c.change for c in evidence_changes([before], [moved])] == ["changed"]
