"""The judgement rules changed while closing issue #12's held-out gaps, one table each: who speaks in a channel
whose messages are only partly stamped with their team, and what "stale" means for Slack (talk the customer has
moved on from, not a channel that went quiet)."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.slack import channel_signals
from core import freshness
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
