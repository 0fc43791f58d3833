"""The rules changed when the tuning split was made to teach again (issue #12, session 7), one table each: Slack
markup and noise a message carries (entities, mentions, links, a quoted vendor line, a forwarded email's
headers, trouble said to be fixed), one thought sent as several posts, steady accounts known from quiet readings
rather than abstained on as thin, growth shown by a deed when there is no usage feed, a month of flat usage as a
reading; and the generator's tuning noise itself (it must reach tuning customers only)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from connectors.slack import bursts, channel_signals
from connectors.slack_voice import intent, plain, tone
from connectors.usage import usage_signals
from core.factors import DEFAULT_WEIGHTS, Thresholds, abstain_reason, breakdown, growth_is_explicit, judge
from schemas.evidence import EvidenceItem

RUN = dt.date(2026, 11, 22)
OWN, THEIRS = "T0VENDOR", "T0CUSTOMER"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("can we add seats &amp; the SSO add-on?", "can we add seats & the sso add-on?"),
        ("<@U0CSMAMARA> how do we export all of our data?", "how do we export all of our data?"),
        ("see <https://docs.example/x|the export guide>", "see the export guide"),
        ("&gt; Reminder: the cancellation policy doc is pinned\nthanks, all clear", "thanks, all clear"),
        ("> Sharing the renewal pricing options\nok, will read", "ok, will read"),
        (
            "fyi\n\n---------- Forwarded message ---------\nFrom: Ana &lt;ana@acme.example&gt;\n"
            "Date: Mon, 9 Nov 2026\nTo: ops@acme.example\n\nWe plan to cancel at renewal.",
            "fyi we plan to cancel at renewal.",
        ),
        ("really impressed with how fast you fixed the bug", "really impressed with how fast you fixed"),
        ("Thank you so much, problem solved!", "thank you so much, fixed!"),
    ],
)
def test_plain_reads_the_words_not_the_markup_quotes_or_headers(text: str, words: str) -> None:
    assert plain(text) == words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a quoted vendor line carries the vendor's intent, not the customer's
        ("&gt; Reminder: the cancellation policy doc is pinned in this channel.\nthanks, all clear", None),
        ("&gt; Following up on the export tooling question\nsure, Thursday works", None),
        # an export that fails is trouble; a fix asked for is still trouble, a fix done is not
        ("Our exports keep failing with a 500 error", "trouble"),
        ("We need a fix for the bug in the sync", "trouble"),
        ("really impressed with how fast you fixed the bug", None),
        # paying for seats that go unused is a price talk; adding one person to a group is administration
        ("We pay for 50 seats and use 30, can we get a better deal?", "pricing"),
        ("how do I add a user to a group?", None),
        ("Can we add 25 users to our plan?", "expansion"),
        # "after the contract ends" is a time, not a decision to leave
        ("How long do you keep our data after the contract ends? we need to extract it first", "export"),
        ("Heads up: we're letting the contract expire this year.", "cancel"),
        # the customer's own payment put right is not service trouble
        ("The card payment failed because of a bank block, we retried and it went through.", None),
        ("The sync failed again overnight.", "trouble"),
    ],
)
def test_intent_rules_added_on_the_new_tuning_phrasings(text: str, expected: str | None) -> None:
    assert intent(text) == expected


def test_slang_praise_is_warm() -> None:
    assert tone("you guys rock, the new release is great") > tone("the new release is out")
    assert tone("Thank you so much, problem solved!") >= 0.42  # connectors.slack.WARM


def post(user: str, text: str, sec: int, team: str = THEIRS, **more: object) -> dict[str, object]:
    base = int(dt.datetime.combine(RUN - dt.timedelta(days=10), dt.time(9), dt.UTC).timestamp())
    return {"type": "message", "user": user, "text": text, "ts": f"{base + sec}.000100", "team": team, **more}


@pytest.mark.parametrize(
    ("posts", "kinds"),
    [
        # a question sent in two pieces, answered in a thread on the first: one answered question
        ([post("U1", "where is the data", 0, reply_count=1), post("U1", "hosted, EU or US?", 30)], []),
        # an ask whose seat word falls in the second piece
        (
            [post("U1", "can we add", 0, reply_count=1), post("U1", "25 licences before monday?", 40)],
            ["expansion_talk"],
        ),
        # too far apart, or another poster between: separate messages
        (
            [post("U1", "where is the data", 0, reply_count=1), post("U1", "hosted, EU or US?", 600)],
            ["question_unanswered"],
        ),
        (
            [post("U1", "can we add", 0), post("U2", "morning all", 10), post("U1", "25 licences please", 20)],
            ["expansion_talk"],
        ),
    ],
)
def test_one_thought_in_several_posts_is_read_as_one_message(posts: list[dict], kinds: list[str]) -> None:
    items = channel_signals("C1", list(reversed(posts)), RUN, own_team=OWN)
    assert [i.kind for i in items if i.kind not in ("thanks", "champion_quiet_in_slack")] == kinds
    assert len(bursts([p for p in posts if p["user"] == "U1"])) == (1 if kinds != ["question_unanswered"] else 2)


def sign(sid: str, kind: str, factor: str, signal: float, **facts: object) -> EvidenceItem:
    return EvidenceItem(
        source_id=sid, kind=kind, factor=factor, signal=signal, summary=kind, observed_on=RUN, facts=facts
    )  # type: ignore[arg-type]


SUB = sign("stripe:sub_1", "subscription", "payment_history", 0.0, started="2024-01-10")


@pytest.mark.parametrize(
    ("items", "thin"),
    [
        ([SUB], True),  # a subscription and nothing else read
        ([SUB, sign("stripe:in_1", "payments_on_time", "payment_history", 0.3)], True),  # billing alone
        # billing read and a month of flat usage: a steady account, known to be steady
        (
            [
                SUB,
                sign("stripe:in_1", "payments_on_time", "payment_history", 0.3),
                sign("usage:c:active_users:30d", "usage_steady", "usage_trend", 0.0),
            ],
            False,
        ),
        # the subscription, and a renewal deal open as planned with the champion in touch
        (
            [
                SUB,
                sign("hubspot:deal:1", "renewal_deal", "champion_status", 0.0),
                sign("hubspot:contact:1", "champion_engaged", "champion_status", 0.2),
            ],
            False,
        ),
    ],
)
def test_thin_means_too_little_read_not_nothing_moving(items: list[EvidenceItem], thin: bool) -> None:
    reason = abstain_reason(items, breakdown(items, DEFAULT_WEIGHTS), RUN) or ""
    assert reason.startswith("thin_evidence") is thin, reason


def test_a_young_account_is_still_thin_however_many_sources_are_quiet() -> None:
    young = sign("stripe:sub_1", "subscription", "payment_history", 0.0, started="2026-10-20")
    items = [young, sign("usage:c:active_users:30d", "usage_steady", "usage_trend", 0.0)]
    assert (abstain_reason(items, breakdown(items, DEFAULT_WEIGHTS), RUN) or "").startswith("thin_evidence")


DEAL = sign("salesforce:opportunity:1", "expansion_deal_open", "usage_trend", 0.4)
ENGAGED = sign("salesforce:contact:1", "champion_engaged", "champion_status", 0.2)


@pytest.mark.parametrize(
    ("items", "missing", "verdict"),
    [
        ([SUB, DEAL, ENGAGED], {"usage": "not read", "slack": "not read"}, "expansion"),  # no usage: the deed
        # usage read and flat: the feed says it is not growing, whatever the deal says
        ([SUB, DEAL, ENGAGED, sign("usage:c:active_users:30d", "usage_steady", "usage_trend", 0.0)], {}, "standard"),
        # no usage, but trouble elsewhere: not growth enough
        (
            [SUB, DEAL, ENGAGED, sign("slack:C1:1.0", "service_trouble", "support_sentiment", -0.35)],
            {"usage": "not read"},
            "standard",
        ),
        # talk alone is not a deed
        (
            [SUB, ENGAGED, sign("slack:C1:2.0", "expansion_talk", "usage_trend", 0.35)],
            {"usage": "not read"},
            "standard",
        ),
    ],
)
def test_growth_without_a_usage_feed_is_read_from_a_deed(
    items: list[EvidenceItem], missing: dict[str, str], verdict: str
) -> None:
    b = breakdown(items, DEFAULT_WEIGHTS, missing=missing)
    assert judge(items, b, Thresholds(), RUN)[0] == verdict, (b.total, growth_is_explicit(items, b))


def test_a_month_of_flat_usage_is_a_reading_with_no_signal() -> None:
    rows = [
        {"date": RUN - dt.timedelta(days=d), "active_users": 40, "error_count": 0, "jobs_executed": 100}
        | {"licensed_seats": 60}
        for d in range(40)
    ]
    items = usage_signals("c", rows, RUN)
    assert [(i.kind, i.signal) for i in items] == [("usage_steady", 0.0)]
    assert items[0].facts["change_pct"] == 0


def test_tuning_noise_reaches_tuning_customers_only(tmp_path: Path) -> None:
    from sandbox.generate import STORY_RICH_SHARES, generate_workspace

    ws = generate_workspace(
        tmp_path / "ws", customers=200, as_of=RUN, seed=11, shares=STORY_RICH_SHARES, missing_sources=True
    )
    with open(ws / "expected.csv") as f:
        split = {r["customer_id"]: r["split"] for r in csv.DictReader(f)}
    channel = {
        c["metadata"]["slack_channel_id"]: c["id"] for c in json.loads((ws / "stripe/customers.json").read_text())
    }
    noisy: dict[str, int] = {"tuning": 0, "held_out": 0}
    for path in (ws / "slack" / "history").glob("C0*.json"):
        if path.stem not in channel:
            continue
        texts = [m["text"] for m in json.loads(path.read_text())]
        marked = any("&gt;" in t or "Forwarded message" in t or t.startswith("<@") for t in texts)
        noisy[split[channel[path.stem]]] += marked
    assert noisy["tuning"] > 10 and noisy["held_out"] == 0, noisy
    # record variations too: champion roles left unmarked in the CRM, for tuning customers only
    companies = {
        c["id"]: c["properties"]["stripe_customer_id"] for c in json.loads((ws / "hubspot/companies.json").read_text())
    }
    links = json.loads((ws / "hubspot/associations.json").read_text())["companies_to_contacts"]
    of_contact = {contact: companies[company] for company, contacts in links.items() for contact in contacts}
    unmarked: dict[str, int] = {"tuning": 0, "held_out": 0}
    for c in json.loads((ws / "hubspot/contacts.json").read_text()):
        unmarked[split[of_contact[c["id"]]]] += c["properties"]["renewal_role"] == ""
    assert unmarked["tuning"] > 10 and unmarked["held_out"] == 0, unmarked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the new word families, in their everyday senses: not a sign of leaving, growing or a handover
        ("We had a company-wide outage this morning", "trouble"),
        ("We are on the Business plan, where is the SSO setting?", None),
        ("I will drop you a note tomorrow", None),
        ("When do you sunset the v1 API?", None),
        ("Can we extract insights from the reports?", None),
        ("we have competing priorities this quarter", None),
        ("looking around the new UI, nice", None),
        ("Thanks for the demo from your team", None),
        ("usage is way higher than we expected", None),
        ("Can I schedule a report for the last day of the month?", None),
        ("Do inherited permissions apply to sub-folders?", None),
        ("Please contact me about the invoice.", None),
        ("We retired the old workflow last week.", None),
        ("Offboarding a user: how do I remove their access?", None),
        ("The app quit unexpectedly again", "trouble"),
        ("you still haven't fixed the bug", "trouble"),
        # ... and in the sense the rules were widened for
        ("we want to roll it out company-wide", "expansion"),
        ("Ana Berg retired last month, please talk to me now.", "handover"),
        ("Management wants to sunset the tool at the end of our term.", "cancel"),
    ],
)
def test_new_word_families_keep_to_their_sense(text: str, expected: str | None) -> None:
    assert intent(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Considering a move to a cheaper atlernative tbh", "competitor"),
        ("Please confirm how cancellaiton works at the end of the term.", "cancel"),
        ("We need 10 more licecnes before Monday.", "expansion"),
        ("we want to exprot all our data", "export"),
        # an English word one swap away from a keyword is left alone: retried is not retired
        ("The card payment failed, we retried and it went through.", None),
    ],
)
def test_a_swapped_letter_typo_in_the_word_that_carries_the_intent_is_read_through(
    text: str, expected: str | None
) -> None:
    assert intent(text) == expected


def test_a_typo_in_a_praise_word_keeps_its_tone() -> None:
    assert tone("Huge thanks, fantsatic work") == tone("Huge thanks, fantastic work")


def hs_contact(cid: str, last: str, role: str = "", **more: str) -> dict[str, object]:
    props = {"firstname": cid, "lastname": "X", "notes_last_contacted": f"{last}T09:00:00Z", "renewal_role": role}
    return {"id": cid, "properties": props | more}


def sf_contact(cid: str, last: str, champion: bool = False, **more: object) -> dict[str, object]:
    return {"Id": cid, "FirstName": cid, "LastName": "X", "LastActivityDate": last, "Champion__c": champion} | more


def test_with_no_champion_marked_the_contact_in_touch_last_speaks_for_the_account() -> None:
    from connectors import hubspot, salesforce

    # finance quiet for three months, the ops lead in touch last week: engaged, not quiet
    hs = [hs_contact("fin", "2026-08-20"), hs_contact("ops", "2026-11-15")]
    assert [(i.kind, i.source_id) for i in hubspot.contact_signals(hs, RUN)] == [
        ("champion_engaged", "hubspot:contact:ops")
    ]
    sf = [sf_contact("fin", "2026-08-20"), sf_contact("ops", "2026-11-15")]
    assert [(i.kind, i.source_id) for i in salesforce.contact_signals(sf, RUN)] == [
        ("champion_engaged", "salesforce:contact:ops")
    ]
    # everyone quiet: the freshest is still quiet; a departure is read per contact, and never speaks for it
    hs = [
        hs_contact("fin", "2026-08-20"),
        hs_contact("ops", "2026-11-20", hs_email_hard_bounce_reason_enum="UNKNOWN_USER"),
        hs_contact("dev", "2026-09-20"),
    ]
    assert sorted(i.kind for i in hubspot.contact_signals(hs, RUN)) == ["champion_quiet", "contact_left"]
    # a marked champion is read as before, whoever else was in touch
    hs = [hs_contact("champ", "2026-08-20", role="champion"), hs_contact("ops", "2026-11-15")]
    assert [i.kind for i in hubspot.contact_signals(hs, RUN)] == ["champion_quiet"]


CONTACT_LEFT = sign("salesforce:contact:1", "contact_left", "champion_status", -0.3)
HANDOVER = sign("slack:C1:5.0", "champion_handover", "champion_status", -0.5)
GROWS = [
    sign("usage:c:active_users:30d", "usage_grew", "usage_trend", 0.3),
    sign("stripe:in_2", "seats_grew", "usage_trend", 0.4),
    sign("stripe:in_2", "payments_on_time", "payment_history", 0.3),
    sign("slack:C1:6.0", "thanks", "support_sentiment", 0.15),
]


@pytest.mark.parametrize(
    ("leaving", "contradictory"),
    [
        ([CONTACT_LEFT], False),  # some contact left: not the champion, as far as anyone says
        ([HANDOVER], False),  # one message read as a handover
        ([CONTACT_LEFT, HANDOVER], True),  # a contact gone, and someone says they took over: told twice
    ],
)
def test_a_departed_contact_is_the_champion_when_a_handover_says_so(
    leaving: list[EvidenceItem], contradictory: bool
) -> None:
    items = GROWS + leaving
    reason = abstain_reason(items, breakdown(items, DEFAULT_WEIGHTS), RUN) or ""
    assert reason.startswith("contradictory_evidence") is contradictory, reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the second round of word families (long and non-native phrasings), in their everyday senses
        ("Usage is higher than last year, great to see", None),
        ("we're spinning up a new team for the project", None),
        ("no big issue, just curious where the setting is", None),
        ("We didn't send the PO yet, will do tomorrow", None),
        ("I'll be your contact for the training next week", None),
        # ... and in the sense they were added for
        ("We have 3 new team leads joining next week, please can you provide them access?", "expansion"),
        ("we have decided that we will not proceed with the renewal", "cancel"),
        ("Can you confirm that our contract will end on 31 Dec and nothing will renew after?", "cancel"),
        ("the page keeps spinning forever when we open the analytics tab", "trouble"),
        ("Hi, the data in yesterday's export was incomplete, half the rows missing", "trouble"),
        ("Hi, Ana Berg is no more working with us, I will be the contact person.", "handover"),
    ],
)
def test_second_round_word_families_keep_to_their_sense(text: str, expected: str | None) -> None:
    assert intent(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the third round, in their everyday senses ...
        ("let it go, not a big deal", None),
        ("we are waiting for another team to approve", None),
        ("we're out at the end of the day, back Monday", None),
        ("How do I remove a user who left our team?", None),
        # ... and in the sense they were added for
        ("how much for another team of 15?", "expansion"),
        ("What would the cost be if we drop to 20 users?", "pricing"),
        ("who do I send the non-renewal notice to?", "cancel"),
        ("need a CSV of every ticket we ever logged", "export"),
        ("the numbers on the dashboard don't add up", "trouble"),
    ],
)
def test_third_round_word_families_keep_to_their_sense(text: str, expected: str | None) -> None:
    assert intent(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the fourth round, in their everyday senses ...
        ("we are replacing the old laptops next month", None),
        ("I'm taking over the weekly report from a colleague, where are the settings?", None),
        ("Do you support exporting a single report to PDF?", None),
        ("I left the meeting notes in the doc last week", None),
        ("can we enable SSO for all users?", None),
        # ... and in the sense they were added for
        ("We're considering replacing this with an all-in-one suite.", "competitor"),
        ("please stop the auto renewal for our account", "cancel"),
        ("Ana Berg left last week; all renewal questions now come to me.", "handover"),
        ("Any chance to get more API calls per month? We're constantly over the allowance.", "expansion"),
        ("How do we download the complete history of all tickets?", "export"),
    ],
)
def test_fourth_round_word_families_keep_to_their_sense(text: str, expected: str | None) -> None:
    assert intent(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a typo in a word the patterns spell out (not a keyword of their own) is read through too
        ("do you support exporting a signle report to pdf?", None),
        ("Ana Berg is no lonegr the admin, I am. Please update.", "handover"),
    ],
)
def test_a_typo_in_any_word_the_patterns_spell_is_read_through(text: str, expected: str | None) -> None:
    assert intent(text) == expected
