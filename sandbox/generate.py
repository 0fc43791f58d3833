"""A realistic sample workspace: Stripe billing, CRM (HubSpot and Salesforce), Slack and usage, with the
expected renewal verdict and health tier of every customer written beside the data.

    python -m sandbox.generate --out DIR --customers 500 --as-of 2026-11-22 --seed 7

Ground truth comes from each customer's story (its archetype), never from the product's scoring, so the
judgement can be measured against it. The format is described in sandbox/WORKSPACE.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.phrases import BANKS
from sandbox.phrases_fresh import BookSplit, pick, styled
from sandbox.phrases_tuning import MORE
from sandbox.workspace import ts_key

KEYS = {
    "stripe": "rk_test_sandbox",
    "hubspot": "pat-sandbox",
    "salesforce": "sf-session-sandbox",
    "slack": "xoxb-sandbox",
}
BRIEFING_CHANNEL = {"id": "C0FDE000001", "name": "fde"}  # where the health briefing is posted (the default)

# archetype: (share, expected verdict, expected health tier, note for expected.csv). Shares like a real book: most
# accounts steady, about a quarter moving, so a first scan routes inside the target mix (60-80/15-35/2-10 %).
ARCHETYPES: dict[str, tuple[float, str, str, str]] = {
    "expansion": (0.10, "expansion", "hot", "seats and usage up, asks about a bigger plan, champion engaged"),
    "past_due_but_expanding": (0.02, "expansion", "warm", "an open invoice, yet seats and usage grow"),
    "steady": (0.60, "standard", "warm", "pays on time, usage flat, deal on track"),
    "thin_new": (0.05, "standard", "warm", "signed weeks ago: too little data to judge"),
    "single_late_invoice": (0.04, "standard", "warm", "one invoice a week late, otherwise steady"),
    "stale_deal_happy_slack": (0.02, "standard", "warm", "renewal deal untouched for months, Slack is happy"),
    "champion_left_usage_grows": (
        0.02,
        "standard",
        "hot",
        "contradictory: the champion left, yet usage grows and a colleague praises the product",
    ),
    "at_risk": (0.10, "at_risk", "cold", "late invoices, usage down, stale deal, champion quiet"),
    "likely_churn": (0.05, "likely_churn", "cold", "failed payments, cancel talk, champion gone or silent"),
}
# The book the test suite and bench.judgement deal: every story several times over in a 120-customer workspace
# (trouble is over-represented on purpose, so each verdict and tier shows up). A demo on it would look like a bad
# quarter.
STORY_RICH_SHARES = {
    "expansion": 0.18,
    "past_due_but_expanding": 0.02,
    "steady": 0.31,
    "thin_new": 0.05,
    "single_late_invoice": 0.04,
    "stale_deal_happy_slack": 0.02,
    "champion_left_usage_grows": 0.04,
    "at_risk": 0.21,
    "likely_churn": 0.13,
}
WORDS_A = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Wonka",
    "Aperture",
    "Oscorp",
    "Nakatomi",
    "Gringotts",
    "Monarch",
    "Pied",
    "Dunder",
    "Kramerica",
]
WORDS_B = [
    "Labs",
    "Systems",
    "Logistics",
    "Health",
    "Analytics",
    "Robotics",
    "Foods",
    "Capital",
    "Media",
    "Energy",
    "Software",
    "Retail",
    "Bio",
    "Networks",
    "Studios",
    "Partners",
]
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kira", "Luis", "Maya", "Nils"]
LAST = ["Okafor", "Schmidt", "Tanaka", "Rossi", "Novak", "Silva", "Berg", "Khan", "Moreau", "Lund", "Reyes", "Park"]
CSMS = [("U0CSMAMARA", "Amara Obi"), ("U0CSMTOMAS", "Tomas Wright"), ("U0CSMPRIYA", "Priya Nair")]
# What each story says in its shared channel: (the phrase banks of its latest messages, of the older ones).
MOODS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "expansion": (("expansion", "praise"), ("praise", "neutral")),
    "past_due_but_expanding": (("po", "expansion"), ("praise", "neutral")),
    "steady": (("praise", "neutral"), ("praise", "neutral")),
    "thin_new": (("neutral",), ("neutral",)),
    "single_late_invoice": (("late",), ("praise", "neutral")),
    "stale_deal_happy_slack": (("praise",), ("praise", "neutral")),
    "champion_left_usage_grows": (("handover",), ("praise", "neutral")),
    "at_risk": (("trouble", "pricing"), ("neutral",)),
    "likely_churn": (("cancel", "export", "competitor"), ("trouble", "neutral")),
}
# Which stories the judgement should abstain on, and why: too little evidence, or strong evidence both ways.
ABSTAIN = {"thin_new": "thin", "champion_left_usage_grows": "contradictory"}
VENDOR_TEAM = "T0SANDBOX"  # the tenant's own Slack workspace, as auth.test answers it
# A departed champion's mail bounces for good; a full mailbox is a soft problem, not a departure.
GONE_BOUNCE = (("UNKNOWN_USER", "550 5.1.1 The email account that you tried to reach does not exist"),)
FULL_BOUNCE = (("MAILBOX_FULL", "552 5.2.2 Mailbox full"),)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
SF_STAGES = {
    "closedlost": "Closed Lost",
    "closedwon": "Closed Won",
    "renewal_at_risk": "Negotiation/Review",
    "contractsent": "Contract Sent",
    "expansion_proposal": "Proposal/Price Quote",
}


def _id(prefix: str, *parts: object, n: int = 14) -> str:
    """A stable id that looks like the vendor's: a hash of the parts, in base 62."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=n).digest()
    return prefix + "".join(ALPHABET[b % 62] for b in digest)


def _ts(day: dt.date, hour: int = 12) -> int:
    return int(dt.datetime.combine(day, dt.time(hour), dt.UTC).timestamp())


def _iso(day: dt.date) -> str:
    return f"{day}T09:00:00Z"


def _sf(kind: str, rec_id: str, **fields: Any) -> dict[str, Any]:
    """A record as SOQL returns it, `attributes` first."""
    url = f"/services/data/v59.0/sobjects/{kind}/{rec_id}"
    return {"attributes": {"type": kind, "url": url}, "Id": rec_id, **fields}


@dataclass
class Story:
    index: int
    archetype: str
    verdict: str
    tier: str
    name: str
    domain: str
    annual: bool
    arr_usd: int
    unit_month_usd: int
    seats_start: int
    seats_now: int
    renewal: dt.date
    created: dt.date
    champion: tuple[str, str]
    champion_left: bool
    quiet_days: int  # days since the champion was last in touch
    stale_days: int  # days since the renewal deal last moved
    split: BookSplit = "tuning"  # which phrase banks its Slack channel draws from (bench.judgement grades each apart)
    billed_monthly: bool = False  # an annual contract charged each month: Stripe's period end is not the renewal
    contract_end_key: bool = True  # the subscription's metadata names the contract end (contract_end_date)
    missing: frozenset[str] = frozenset()  # sources with nothing to read: "slack", "crm", "usage"
    left_flagged: bool = True  # a departed champion is marked in the CRM's custom field (not every team does)
    bounce: tuple[str, str] | None = None  # the champion's last email bounce: (HubSpot reason enum, SMTP reply)
    retry_paid: bool = False  # one charge failed once and was paid the next day: a healthy account's hiccup
    stray_errors: bool = False  # one or two errors in the last two days on a quiet baseline: not a spike
    # Tuning customers of a realistic book (missing_sources) only: their own random stream for the noise and
    # record variations below (_tuning_noise), apart from the workspace's, so held-out customers stay byte for
    # byte what they were; None elsewhere.
    noise: random.Random | None = None
    left_told: str = "all"  # where a departed champion's leaving shows: "all", or only "crm", "bounce", "slack"
    hide_usage: bool = False  # the usage feed has nothing for this customer (its rows are drawn, not written)
    roles_marked: bool = True  # the CRM marks who is the champion (renewal_role, Champion__c): not every team does


def _realism(s: Story, i: int, r: random.Random, missing_sources: bool) -> Story:
    """What real books have and the stories alone lack: a held-out half, monthly billing on annual contracts,
    sources with nothing in them, departures only a bounce records, and harmless billing and error blips."""
    healthy = s.archetype not in ("at_risk", "likely_churn", "past_due_but_expanding")
    gaps = {src for src, rate in (("slack", 0.15), ("crm", 0.1), ("usage", 0.1)) if r.random() < rate}
    if s.archetype in ABSTAIN:  # the story itself must stay readable: thin by design, or both ways
        gaps.clear()
    s.split = "held_out" if i % 2 else "tuning"
    s.billed_monthly = s.annual and r.random() < 0.4
    s.contract_end_key = r.random() < 0.75
    s.missing = frozenset(gaps) if missing_sources else frozenset()
    s.left_flagged = not s.champion_left or r.random() < 0.5
    s.bounce = GONE_BOUNCE[0] if s.champion_left and r.random() < 0.85 else None
    if not s.champion_left and r.random() < 0.04:
        s.bounce = FULL_BOUNCE[0]
    s.retry_paid = healthy and r.random() < 0.12
    s.stray_errors = healthy and r.random() < 0.1
    return _tuning_noise(s) if missing_sources and s.split == "tuning" else s


def _tuning_noise(s: Story) -> Story:
    """Records that vary as real ones do, for tuning customers (issue #12: the tuning split had stopped teaching):
    a departed champion's leaving told in one place only (the CRM's fields, a hard bounce, or a deactivated Slack
    account), and more accounts with no usage feed. Drawn from the customer's own stream (Story.noise)."""
    s.noise = n = random.Random(f"tuning-noise|{s.index}|{s.name}|{s.renewal}")
    if s.champion_left:
        s.left_told = n.choice(("all", "crm", "bounce", "slack"))
        if s.left_told != "all":
            s.left_flagged = s.left_told == "crm"
    s.hide_usage = s.archetype not in ABSTAIN and n.random() < 0.1
    s.roles_marked = n.random() >= 0.25
    return s


def _deck(rng: random.Random, shares: Mapping[str, float]) -> list[tuple[str, bool, bool]]:
    """One shuffled block of 100 customers as (archetype, due, enterprise): exact archetype shares, 40% of
    each renewing 14-90 days out, and six enterprise accounts spread over the stories a demo must show, so
    even a small workspace has every story in the renewal window."""
    cards = []
    big = {"expansion": (1, 1), "steady": (1, 1), "at_risk": (1, 0), "likely_churn": (1, 0)}
    for name, share in shares.items():
        n = round(share * 100)
        due = round(n * 0.4)
        in_window, outside = big.get(name, (0, 0))
        cards += [(name, k < due, k < in_window if k < due else k - due < outside) for k in range(n)]
    rng.shuffle(cards)
    return cards


def _story(i: int, card: tuple[str, bool, bool], rng: random.Random, as_of: dt.date) -> Story:
    arch, due, enterprise = card
    _, verdict, tier, _ = ARCHETYPES[arch]
    annual = enterprise or rng.random() < 0.55
    # Skewed like a real B2B book: most accounts a few thousand dollars, enterprise ones $50K-$400K.
    arr = (
        math.exp(rng.uniform(math.log(50_000), math.log(400_000)))
        if enterprise
        else min(48_000.0, 3_000 * math.exp(rng.expovariate(1 / 0.9)))
    )
    unit = rng.choice([20, 30, 45, 60, 80, 100])
    seats_now = max(math.ceil(3_000 / 12 / unit), min(400_000 // (12 * unit), round(arr / 12 / unit)))
    change = {
        "expansion": rng.uniform(0.25, 0.6),
        "past_due_but_expanding": rng.uniform(0.3, 0.5),
        "champion_left_usage_grows": rng.uniform(0.2, 0.4),
        "at_risk": -rng.uniform(0.12, 0.3),
        "likely_churn": -rng.uniform(0.3, 0.5),
    }.get(arch, 0.0)
    seats_start = max(1, round(seats_now / (1 + change)))
    if due:  # a monthly contract renews within a month
        days = rng.randint(14, 90 if annual else 30)
    else:
        days = rng.choice([rng.randint(1, 13), rng.randint(91, 330)]) if annual else rng.randint(1, 13)
    age = rng.randint(20, 50) if arch == "thin_new" else rng.randint(200, 1400)
    word = rng.choice(WORDS_A)
    left = arch == "champion_left_usage_grows" or (arch == "likely_churn" and rng.random() < 0.6)
    quiet = {"at_risk": rng.randint(25, 60), "likely_churn": rng.randint(40, 90)}.get(arch, rng.randint(0, 10))
    stale = (
        rng.randint(45, 120) if arch in ("at_risk", "likely_churn", "stale_deal_happy_slack") else rng.randint(1, 20)
    )
    return Story(
        i,
        arch,
        verdict,
        tier,
        f"{word} {rng.choice(WORDS_B)} {i}",
        f"{word.lower()}{i}.example",
        annual,
        seats_now * unit * 12,
        unit,
        seats_start,
        seats_now,
        as_of + dt.timedelta(days=days),
        as_of - dt.timedelta(days=age),
        (rng.choice(FIRST), rng.choice(LAST)),
        left,
        quiet,
        stale,
    )


def _price(unit_month_usd: int, annual: bool) -> dict[str, Any]:
    interval = "year" if annual else "month"
    return {
        "id": _id("price_", unit_month_usd, interval),
        "object": "price",
        "active": True,
        "currency": "usd",
        "unit_amount": unit_month_usd * 100 * (12 if annual else 1),
        "type": "recurring",
        "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
        "product": "prod_SeatPlan0000001",
    }


def _subscription(
    sub_id: str,
    cus: str,
    price: dict[str, Any],
    qty: int,
    start: dt.date,
    end: dt.date,
    created: dt.date,
    status: str,
    contract: str,
    **extra: Any,
) -> dict[str, Any]:
    # The period sits on the subscription and, as newer API versions put it, on each item.
    period = {"current_period_start": _ts(start), "current_period_end": _ts(end)}
    item = {
        "id": _id("si_", sub_id),
        "object": "subscription_item",
        "quantity": qty,
        "price": price,
        "subscription": sub_id,
        **period,
    }
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": cus,
        "status": status,
        "created": _ts(created),
        "cancel_at_period_end": False,
        "canceled_at": None,
        "collection_method": "charge_automatically",
        "currency": "usd",
        **period,
        "items": {
            "object": "list",
            "data": [item],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "metadata": {"contract": contract},
        **extra,
    }


def _stripe(s: Story, cus: str, rng: random.Random, as_of: dt.date) -> tuple[list[dict], list[dict]]:
    """The live subscription (sometimes beside an older canceled one) and about six months of invoices."""
    yearly = s.annual and not s.billed_monthly  # priced and invoiced by the year (each quarter), or by the month
    price, arch, sub_id = _price(s.unit_month_usd, yearly), s.archetype, _id("sub_", cus)
    end = s.renewal
    if s.billed_monthly:  # the billing period is this month's; the contract still ends on its renewal date
        end = as_of + dt.timedelta(days=(s.renewal - as_of).days % 30 or 30)
    start = end - dt.timedelta(days=365 if yearly else 30)
    contract = "annual" if s.annual else "monthly"
    trial = arch == "thin_new" and rng.random() < 0.3
    troubled = arch in ("likely_churn", "past_due_but_expanding") and rng.random() < 0.5
    sub = _subscription(
        sub_id,
        cus,
        price,
        s.seats_now,
        start,
        end,
        s.created,
        "trialing" if trial else "past_due" if troubled else "active",
        contract,
        trial_end=_ts(end) if trial else None,
    )
    if s.annual and s.contract_end_key:  # how billing teams record the contract term Stripe does not know
        sub["metadata"]["contract_end_date"] = s.renewal.isoformat()
    sub["cancel_at_period_end"] = arch == "likely_churn" and rng.random() < 0.6
    subs = [sub]
    if arch == "expansion" and rng.random() < 0.15:  # moved up from a cheaper plan: the old one is canceled
        ended = start - dt.timedelta(days=rng.randint(20, 90))
        cheaper = _price(max(10, s.unit_month_usd // 2), yearly)
        subs.append(
            _subscription(
                _id("sub_", cus, "old"),
                cus,
                cheaper,
                s.seats_start,
                ended - dt.timedelta(days=30),
                ended,
                s.created,
                "canceled",
                contract,
                canceled_at=_ts(ended),
                ended_at=_ts(ended),
            )
        )
    if trial:
        return subs, []
    # Monthly contracts, and annual ones billed monthly, are charged each month. Other annual contracts are
    # priced per seat-year and invoiced each quarter (send_invoice, net 30), so seat true-ups and late payers
    # show within the connector's 180 days.
    step = 91 if yearly else 30
    dates = [
        d
        for d in (as_of - dt.timedelta(days=step * k + 3) for k in range(2 if yearly else 6, -1, -1))
        if d >= s.created
    ]
    invoices = []
    retried = rng.randrange(max(1, len(dates) - 1)) if s.retry_paid and not yearly else -1
    late_budget = {"single_late_invoice": 1, "at_risk": 2, "likely_churn": 3}.get(arch, 0)
    for n, day in enumerate(dates):
        qty = round(s.seats_start + (s.seats_now - s.seats_start) * n / max(1, len(dates) - 1))
        amount = qty * s.unit_month_usd * 100 * (3 if yearly else 1)
        send, last = yearly, n == len(dates) - 1
        due = day + dt.timedelta(days=30) if send else day
        late, attempts, state = (1, 2, "paid") if n == retried else (0, 1, "paid")  # declined once, paid next day
        if late_budget and rng.random() < 0.6 and not (last and arch == "single_late_invoice"):
            late = rng.randint(5, 10) if arch == "single_late_invoice" else rng.randint(8, 45)
            late_budget -= 1
            attempts = 1 if send else rng.randint(2, 4)
        if last and arch in ("likely_churn", "past_due_but_expanding") and due < as_of:
            state = "uncollectible" if arch == "likely_churn" and rng.random() < 0.3 else "open"
            attempts = 1 if send else 4
        paid_at = _ts(due + dt.timedelta(days=late)) if state == "paid" else None
        if paid_at and paid_at > _ts(as_of):
            paid_at, state = None, "open"
        invoices.append(
            _invoice(_id("in_", cus, n), cus, sub_id, price, qty, amount, day, state, due, attempts, paid_at, send)
        )
    if invoices and rng.random() < 0.03:  # noise: a duplicate someone voided
        invoices.append(
            _invoice(
                _id("in_", cus, "void"),
                cus,
                sub_id,
                price,
                s.seats_now,
                invoices[-1]["amount_due"],
                dates[-1],
                "void",
                dates[-1],
                0,
                None,
                yearly,
            )
        )
    if invoices and not yearly and rng.random() < 0.1:  # next month's invoice, not yet finalized
        invoices.append(
            _invoice(
                _id("in_", cus, "draft"),
                cus,
                sub_id,
                price,
                s.seats_now,
                s.seats_now * s.unit_month_usd * 100,
                as_of,
                "draft",
                as_of,
                0,
                None,
                False,
            )
        )
    return subs, invoices


def _invoice(
    inv_id: str,
    cus: str,
    sub_id: str,
    price: dict[str, Any],
    qty: int,
    amount: int,
    day: dt.date,
    state: str,
    due: dt.date,
    attempts: int,
    paid_at: int | None,
    send: bool,
) -> dict[str, Any]:
    return {
        "id": inv_id,
        "object": "invoice",
        "customer": cus,
        "subscription": sub_id,
        "status": state,
        "collection_method": "send_invoice" if send else "charge_automatically",
        "currency": "usd",
        "amount_due": amount,
        "amount_paid": amount if state == "paid" else 0,
        "amount_remaining": 0 if state in ("paid", "void") else amount,
        "created": _ts(day),
        "due_date": _ts(due) if send else None,
        "attempt_count": attempts,
        "attempted": attempts > 0,
        "status_transitions": {
            "finalized_at": None if state == "draft" else _ts(day),
            "paid_at": paid_at,
            "voided_at": _ts(day, 15) if state == "void" else None,
            "marked_uncollectible_at": _ts(due + dt.timedelta(days=20)) if state == "uncollectible" else None,
        },
        "lines": {
            "object": "list",
            "has_more": False,
            "url": f"/v1/invoices/{inv_id}/lines",
            "data": [
                {
                    "id": _id("il_", inv_id),
                    "object": "line_item",
                    "quantity": qty,
                    "amount": amount,
                    "currency": "usd",
                    "price": price,
                }
            ],
        },
    }


def _crm(
    s: Story, i: int, seed: int, cus: str, rng: random.Random, as_of: dt.date, acc: dict[str, Any]
) -> dict[str, str]:
    """The same facts twice: HubSpot companies/deals/contacts, Salesforce accounts/opportunities/contacts."""
    arch, created = s.archetype, _iso(s.created)
    moved, touched = as_of - dt.timedelta(days=s.stale_days), as_of - dt.timedelta(days=s.quiet_days)
    if arch == "thin_new":
        stage = "closedwon"  # only the new-business deal so far
    elif arch == "likely_churn":
        stage = "closedlost" if rng.random() < 0.3 else "renewal_at_risk"
    elif arch == "at_risk":
        stage = "renewal_at_risk" if rng.random() < 0.4 else "renewal_open"
    else:
        stage = "contractsent" if (s.renewal - as_of).days <= 30 and rng.random() < 0.5 else "renewal_open"
    new = arch == "thin_new"
    deals = [
        (
            stage,
            f"{s.name} new business" if new else f"{s.name} renewal {s.renewal.year}",
            s.arr_usd,
            s.created if new else s.renewal,
            moved,
        )
    ]
    if arch in ("expansion", "past_due_but_expanding"):
        added = (s.seats_now - s.seats_start + max(5, s.seats_now // 4)) * s.unit_month_usd * 12
        deals.append(
            (
                "expansion_proposal",
                f"{s.name} expansion",
                added,
                s.renewal,
                as_of - dt.timedelta(days=rng.randint(1, 10)),
            )
        )
    if "crm" in s.missing:  # a company record nobody keeps up: no deals, no contacts
        deals = []
    company, acct = str(2_140_000_000 + i), "001" + _id("", "acct", seed, i, n=15)
    acc["hubspot/companies.json"].append(
        {
            "id": company,
            "properties": {
                "name": s.name,
                "domain": s.domain,
                "annualrevenue": str(s.arr_usd),
                "lifecyclestage": "customer",
                "stripe_customer_id": cus,
                "createdate": created,
                "hs_lastmodifieddate": _iso(moved),
                "hs_object_id": company,
            },
            "createdAt": created,
            "updatedAt": _iso(moved),
            "archived": False,
        }
    )
    acc["salesforce/Account.json"].append(
        _sf(
            "Account",
            acct,
            Name=s.name,
            Website=s.domain,
            AnnualRevenue=float(s.arr_usd),
            Type="Customer",
            Stripe_Customer_Id__c=cus,
            CreatedDate=f"{s.created}T00:00:00.000+0000",
        )
    )
    deal_ids, contact_ids = [], []
    for k, (stg, name, amount, close, mod) in enumerate(deals):
        deal, opp = str(15_900_000_000 + 2 * i + k), "006" + _id("", "opp", seed, i, k, n=15)
        deal_ids.append(deal)
        acc["hubspot/deals.json"].append(
            {
                "id": deal,
                "properties": {
                    "dealname": name,
                    "dealstage": stg,
                    "pipeline": "default" if new else "renewals",
                    "closedate": _iso(close),
                    "amount": str(amount),
                    "createdate": created,
                    "hs_lastmodifieddate": _iso(mod),
                    "hs_object_id": deal,
                },
                "createdAt": created,
                "updatedAt": _iso(mod),
                "archived": False,
            }
        )
        acc["salesforce/Opportunity.json"].append(
            _sf(
                "Opportunity",
                opp,
                AccountId=acct,
                Name=name,
                StageName=SF_STAGES.get(stg, "Prospecting"),
                Type="New Business" if new else "Expansion" if k else "Renewal",
                CloseDate=close.isoformat(),
                Amount=float(amount),
                IsClosed=stg.startswith("closed"),
                LastModifiedDate=f"{mod}T09:00:00.000+0000",
                CreatedDate=f"{s.created}T00:00:00.000+0000",
            )
        )
        # Stage history: opened at creation; the current stage was set the day the deal last moved.
        for h, stage_name in enumerate(["Prospecting"] + ([SF_STAGES[stg]] if stg in SF_STAGES else [])):
            acc["salesforce/OpportunityHistory.json"].append(
                _sf(
                    "OpportunityHistory",
                    "008" + _id("", "oh", seed, i, k, h, n=15),
                    OpportunityId=opp,
                    StageName=stage_name,
                    Amount=float(amount),
                    CloseDate=close.isoformat(),
                    CreatedDate=f"{mod if h else s.created}T09:00:00.000+0000",
                )
            )
    people = [
        (s.champion, "Head of Operations", "champion", s.champion_left, touched),
        (
            (rng.choice(FIRST), rng.choice(LAST)),
            "VP Finance",
            "economic_buyer",
            False,
            as_of - dt.timedelta(days=rng.randint(20, 120)),
        ),
    ]
    if s.champion_left:
        people.append(
            (
                (rng.choice(FIRST), rng.choice(LAST)),
                "Operations Manager",
                "new_champion" if s.left_told in ("all", "crm") else "user",
                False,
                as_of - dt.timedelta(days=rng.randint(0, 15)),
            )
        )
    if "crm" in s.missing:
        people = []
    for k, ((first, last), title, role, left, seen) in enumerate(people):
        contact, sf_contact = str(51_000_000_000 + 3 * i + k), "003" + _id("", "con", seed, i, k, n=15)
        contact_ids.append(contact)
        email = f"{first.lower()}.{last.lower()}@{s.domain}"
        bounce = s.bounce if role == "champion" else None
        bounced_on = min(as_of - dt.timedelta(days=1), seen + dt.timedelta(days=rng.randint(3, 20))) if bounce else None
        if role == "champion" and s.left_told in ("crm", "slack"):  # the CRM's flag or Slack tells it, not a bounce
            bounce = bounced_on = None
        elif role == "champion" and s.left_told == "bounce" and s.noise and not bounce:
            bounce = GONE_BOUNCE[0]
            bounced_on = min(as_of - dt.timedelta(days=1), seen + dt.timedelta(days=s.noise.randint(3, 20)))
        hard_bounce = (
            {
                "hs_email_hard_bounce_reason_enum": bounce[0],
                "hs_email_hard_bounce_reason": bounce[1],
                "hs_email_bounce": "1",
                "hs_email_last_send_date": _iso(bounced_on),
            }
            if bounce and bounced_on
            else {}
        )
        flagged = left and s.left_flagged  # the custom field is kept up by some teams only
        acc["hubspot/contacts.json"].append(
            {
                "id": contact,
                "properties": {
                    "firstname": first,
                    "lastname": last,
                    "email": email,
                    "jobtitle": title,
                    "lifecyclestage": "other" if left else "customer",
                    "renewal_role": role if s.roles_marked else "",
                    "left_company": "true" if flagged else "false",
                    **hard_bounce,
                    "notes_last_contacted": _iso(seen),
                    "hs_last_sales_activity_timestamp": _iso(seen),
                    "createdate": created,
                    "lastmodifieddate": _iso(seen),
                    "hs_object_id": contact,
                },
                "createdAt": created,
                "updatedAt": _iso(seen),
                "archived": False,
            }
        )
        acc["salesforce/Contact.json"].append(
            _sf(
                "Contact",
                sf_contact,
                AccountId=acct,
                FirstName=first,
                LastName=last,
                Email=email,
                Title=title,
                Champion__c=s.roles_marked and role in ("champion", "new_champion"),
                Left_Company__c=flagged,
                LastActivityDate=seen.isoformat(),
                EmailBouncedDate=f"{bounced_on}T09:00:00.000+0000" if bounced_on else None,
                EmailBouncedReason=bounce[1] if bounce else None,
            )
        )
    acc["hubspot/associations.json"]["companies_to_deals"][company] = deal_ids
    acc["hubspot/associations.json"]["companies_to_contacts"][company] = contact_ids
    return {"hubspot_company_id": company, "salesforce_account_id": acct}


def _slack(
    s: Story, i: int, seed: int, rng: random.Random, as_of: dt.date, compact: bool, acc: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """A Slack Connect channel shared with the customer's workspace: the champion (a successor and a colleague
    where the champion left), the vendor's CSM posting too (about exports, seats, pricing: not the customer's
    voice), threads, noise, and now and then a long channel. Messages carry `team`/`user_team`; in a tenth of
    channels most do not, and another message of the poster's or their email domain tells the sides apart."""
    channel = "C0" + _id("", "chan", seed, i, n=9).upper()
    team = "T0C" + _id("", "team", seed, i, n=8).upper()
    champ = "U0" + _id("", "user", seed, i, n=9).upper()
    csm, when = CSMS[i % 3][0], _ts(s.created)
    acc["slack/channels.json"].append(
        {
            "id": channel,
            "name": f"ext-{s.domain.split('.')[0]}",
            "is_channel": True,
            "is_private": False,
            "is_archived": False,
            "is_ext_shared": True,
            "is_shared": True,
            "is_member": True,
            "created": when,
            "topic": {"value": f"{s.name} <> us", "creator": csm, "last_set": when},
            "purpose": {"value": "Shared support channel", "creator": csm, "last_set": when},
            "num_members": 4,
            "context_team_id": VENDOR_TEAM,
            "connected_team_ids": [VENDOR_TEAM, team],
        }
    )
    first, last = s.champion
    email = f"{first.lower()}.{last.lower()}@{s.domain}"
    deactivated = s.champion_left and s.left_told in ("all", "slack")
    acc["slack/users.json"].append(
        _user(champ, f"{first} {last}", email, "Head of Operations", deleted=deactivated, team=team)
    )
    latest, older = MOODS[s.archetype]
    speaker = colleague = champ
    if s.champion_left:  # a successor speaks now, a colleague praises the product; the champion's words are old
        speaker = "U0" + _id("", "user2", seed, i, n=9).upper()
        colleague = "U0" + _id("", "user3", seed, i, n=9).upper()
        acc["slack/users.json"].append(
            _user(speaker, f"New Owner {i}", f"owner{i}@{s.domain}", "Operations Manager", team=team)
        )
        acc["slack/users.json"].append(
            _user(colleague, f"Colleague {i}", f"colleague{i}@{s.domain}", "Analyst", team=team)
        )
    if "slack" in s.missing:  # connected, invited, and nobody has written yet
        return channel, []
    tagless = rng.random() < 0.1  # an older channel whose messages mostly lack the Slack Connect team fields
    msgs: list[dict[str, Any]] = []
    # ts -> whether the message the workspace's stream wrote, and the one posted, ask a question: the stream's
    # draws follow the first (so a tuning customer's noise leaves every other customer's data as it was), the
    # thread follows the second
    asked: dict[str, tuple[bool, bool]] = {}

    def post(who: str, bank: str, day: dt.date, k: int, hour: int) -> dict[str, Any]:
        side = VENDOR_TEAM if who.startswith("U0CSM") else team
        signer = first if who == champ else "Ops"
        text = drawn = styled(pick(bank, s.split, rng).format(champion=f"{first} {last}"), s.split, rng, signer)
        if s.noise and s.noise.random() < len(MORE[bank]) / (len(MORE[bank]) + len(BANKS[bank].tuning)):
            text = styled(s.noise.choice(MORE[bank]).format(champion=f"{first} {last}"), s.split, s.noise, signer)
        # a person posts two different messages seconds apart only as one thought in pieces (_noisy's split):
        # a tuning customer's posts of the same day and hour are spread over the hour
        sec = _ts(day, hour) + (k * 37) % 3600 * bool(s.noise)
        parts = _noisy(text, s, who, csm) if s.noise else [text]
        asked[f"{sec}.{i % 1000:03d}{k:03d}"] = ("?" in drawn, "?" in text)
        msg: dict[str, Any] = {"type": "message", "user": who, "text": parts[0], "ts": f"{sec}.{i % 1000:03d}{k:03d}"}
        if not (tagless and rng.random() < 0.6):
            msg.update(team=side, user_team=side)
        msgs.append(msg)
        for j, rest in enumerate(parts[1:], 1):  # the same poster, seconds later
            msgs.append({**msg, "text": rest, "ts": f"{sec + 25 * j}.{i % 1000:03d}{k:03d}"})
        return msg

    last_day = as_of - dt.timedelta(days=s.quiet_days)
    n = rng.randint(2, 3) if compact else rng.randint(3, 8)
    for k in range(n):
        day = last_day - dt.timedelta(days=k * rng.randint(2, 9))
        bank = rng.choice(latest if k < 2 else older)
        who = speaker if k < 2 else champ
        if s.archetype == "champion_left_usage_grows" and k == 1:
            who, bank = colleague, "praise"
        msg = post(who, bank, day, k, 9 + k % 8)
        answered = bank in ("trouble", "cancel", "export", "competitor", "pricing")
        drawn_q, posted_q = asked[msg["ts"]]
        if drawn_q or answered:
            text = styled(pick("vendor", s.split, rng), s.split, rng, signer="CSM")
        if s.noise and posted_q and not (drawn_q or answered):
            text = styled(s.noise.choice(BANKS["vendor"].tuning + MORE["vendor"]), s.split, s.noise, signer="CSM")
        if posted_q or answered:
            reply = f"{int(float(msg['ts'])) + 1800}.{i % 1000:03d}{k:03d}"  # the CSM answers in the thread
            msg.update(thread_ts=msg["ts"], reply_count=1, reply_users=[csm], reply_users_count=1, latest_reply=reply)
            if s.noise and s.noise.random() < 0.3:  # the CSM quotes the customer's words in the reply
                text = f"&gt; {_slack_escape(msg['text'].splitlines()[0])}\n{text}"
            msgs.append({"type": "message", "user": csm, "text": text, "ts": reply, "thread_ts": msg["ts"]})
            msgs[-1].update({} if tagless else {"team": VENDOR_TEAM, "user_team": VENDOR_TEAM})
    for k in range(rng.randint(0 if compact else 1, 3)):  # the CSM's own top-level posts, some recent
        post(csm, "vendor", as_of - dt.timedelta(days=rng.randint(1, 60)), 100 + k, 15)
    if not compact and rng.random() < 0.04:  # a busy channel: months of everyday chatter from both sides
        for k in range(rng.randint(150, 350)):
            day = as_of - dt.timedelta(days=rng.randint(s.quiet_days + 1, 119))
            msg = post(csm if k % 3 == 0 else champ, "vendor" if k % 3 == 0 else "neutral", day, 200 + k, 8 + k % 10)
            if asked[msg["ts"]][1]:  # a busy channel answers its questions, in the thread
                msg.update(thread_ts=msg["ts"], reply_count=1, reply_users=[csm], reply_users_count=1)
    msgs = [m for m in msgs if _day_of(m["ts"]) >= s.created]
    msgs.sort(key=lambda m: ts_key(m["ts"]), reverse=True)
    return channel, msgs


def _slack_escape(text: str) -> str:
    """As Slack's API returns a message's text: &, < and > as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _noisy(text: str, s: Story, who: str, csm: str) -> list[str]:
    """A tuning customer's message as Slack Connect shows it (issue #12): escaped as the API returns it, and
    now and then forwarded from an email, answering a quoted vendor message, addressed to the CSM with a
    mention, or sent as two posts a few seconds apart (a message split mid-sentence). The vendor's own
    messages are left as they are. One or more texts: the posts, in order."""
    n = s.noise
    assert n is not None
    text = _slack_escape(text)
    if who.startswith("U0CSM"):
        return [text]
    roll = n.random()
    if roll < 0.07:
        first, last = s.champion
        text = (
            f"fyi, forwarding this from our side\n\n---------- Forwarded message ---------\n"
            f"From: {first} {last} &lt;{first.lower()}@{s.domain}&gt;\nDate: Mon, 9 Nov 2026 at 10:14\n"
            f"Subject: Re: next steps\nTo: ops@{s.domain}\n\n{text}"
        )
    elif roll < 0.14:
        quoted = n.choice(BANKS["vendor"].tuning + MORE["vendor"])
        text = f"&gt; {_slack_escape(quoted)}\n{text}"
    elif roll < 0.2:
        text = f"<@{csm}> {text}"
    elif roll < 0.28:
        words = text.split(" ")
        if len(words) >= 6:
            cut = n.randint(2, len(words) - 2)
            return [" ".join(words[:cut]), " ".join(words[cut:])]
    return [text]


def _day_of(ts: str) -> dt.date:
    return dt.datetime.fromtimestamp(float(ts), dt.UTC).date()


def _user(
    uid: str, real: str, email: str, title: str, deleted: bool = False, team: str = VENDOR_TEAM
) -> dict[str, Any]:
    return {
        "id": uid,
        "team_id": team,
        "name": email.split("@")[0],
        "real_name": real,
        "deleted": deleted,
        "is_bot": False,
        "is_restricted": True,
        "tz": "Europe/London",
        "profile": {"real_name": real, "display_name": real.split()[0], "email": email, "title": title},
    }


def _usage(s: Story, cus: str, rng: random.Random, days: list[tuple[int, dt.date, str]], w: Any) -> None:
    """Daily product metrics: the story's trend over the last 30 days; an error spike for some in trouble, a
    stray error or two on a quiet baseline for some healthy accounts; nothing at all where usage is missing."""
    if "usage" in s.missing:
        return
    trend = {
        "expansion": 0.45,
        "past_due_but_expanding": 0.35,
        "champion_left_usage_grows": 0.3,
        "at_risk": -0.35,
        "likely_churn": -0.6,
        "thin_new": 0.0,
    }.get(s.archetype, rng.uniform(-0.05, 0.05))
    base_users = max(2, round(s.seats_start * rng.uniform(0.5, 0.9)))
    spike = s.archetype in ("at_risk", "likely_churn") and rng.random() < 0.5
    r, span = rng.random, len(days)  # r() rather than randint: 10k customers make a million rows
    growth = s.seats_now - s.seats_start
    rows = []
    for d, day, iso in days:
        if day < s.created:
            continue
        moved = 1 + trend * (30 - d) / 30 if d < 30 else 1.0
        users = max(0, round(base_users * moved * (0.92 + 0.16 * r())))
        hot = spike and d <= 2
        errors = round(users * (0.01 + 0.04 * r())) + (users * 2 if hot else 0)
        if s.stray_errors:  # almost no errors for a month, then one or two
            errors = int(r() < (0.6 if d <= 2 else 0.08))
        seats = s.seats_now if d <= 30 else round(s.seats_start + growth * (span - d) / span)
        rows.append(
            (
                cus,
                iso,
                users,
                users * (1 + int(3 * r())),
                users * (5 + int(16 * r())),
                users * int(4 * r()),
                users * (1 + int(6 * r())),
                errors,
                (180 + int(721 * r())) * (3 if hot else 1),
                seats,
            )
        )
    if not s.hide_usage:
        w.writerows(rows)


def generate_workspace(
    out: Path,
    *,
    customers: int = 500,
    as_of: dt.date,
    seed: int = 7,
    shares: Mapping[str, float] | None = None,
    missing_sources: bool = False,
    fresh: bool = False,
) -> Path:
    """Write a workspace of `customers` customers as of `as_of`; the same seed writes the same bytes. `shares`
    (archetype -> share of each block of 100) replaces the realistic default, e.g. STORY_RICH_SHARES. With
    `missing_sources`, some customers have nothing in Slack (15%), the CRM (10%) or usage (10%), as in a real
    book (bench.judgement); without, every source has something, as the demo and the scan tests need. With
    `fresh`, every customer's Slack channel speaks the fresh book (sandbox/phrases_fresh.py: its banks and its
    style) instead of the tuning and held-out ones; everything else is dealt as for held-out customers."""
    rng = random.Random(seed)
    extra = random.Random(f"realism-{seed}")
    compact = customers > 1000  # keep 10k-customer workspaces small; the usage connector reads 45 days
    days = [
        (d, as_of - dt.timedelta(days=d), (as_of - dt.timedelta(days=d)).isoformat())
        for d in range(45 if compact else 120, 0, -1)
    ]
    for sub in ("stripe", "hubspot", "salesforce", "slack/history", "usage"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    acc: dict[str, Any] = defaultdict(list)
    acc["hubspot/associations.json"] = {"companies_to_deals": {}, "companies_to_contacts": {}}
    acc["slack/users.json"] = [
        _user(uid, real, f"{real.split()[0].lower()}@vendor.example", "Customer Success") for uid, real in CSMS
    ]
    acc["slack/channels.json"] = [
        {
            **BRIEFING_CHANNEL,
            "is_channel": True,
            "is_private": False,
            "is_archived": False,
            "is_ext_shared": False,
            "is_member": True,
            "created": _ts(as_of - dt.timedelta(400)),
            "num_members": 3,
        }
    ]
    histories: dict[str, list[dict[str, Any]]] = {BRIEFING_CHANNEL["id"]: []}
    expected = []
    with open(out / "usage" / "daily_metrics.csv", "w", newline="") as usage:
        uw = csv.writer(usage)
        uw.writerow(
            [
                "customer_id",
                "date",
                "active_users",
                "logins",
                "messages_sent",
                "agents_run",
                "jobs_executed",
                "error_count",
                "p95_latency_ms",
                "licensed_seats",
            ]
        )
        deck: list[tuple[str, bool, bool]] = []
        for i in range(customers):
            deck = deck or _deck(rng, shares or {name: a[0] for name, a in ARCHETYPES.items()})
            s = _realism(_story(i, deck.pop(), rng, as_of), i, extra, missing_sources)
            if fresh:
                s.split = "fresh"
            cus = _id("cus_", seed, i)
            links = _crm(s, i, seed, cus, rng, as_of, acc)
            channel, histories[channel] = _slack(s, i, seed, rng, as_of, compact, acc)
            acc["stripe/customers.json"].append(
                {
                    "id": cus,
                    "object": "customer",
                    "name": s.name,
                    "email": f"billing@{s.domain}",
                    "created": _ts(s.created),
                    "currency": "usd",
                    "delinquent": s.archetype == "likely_churn",
                    "livemode": False,
                    "metadata": {
                        **links,
                        "slack_channel_id": channel,
                        "segment": "enterprise" if s.arr_usd >= 50_000 else "smb",
                    },
                }
            )
            subs, invoices = _stripe(s, cus, rng, as_of)
            acc["stripe/subscriptions.json"] += subs
            acc["stripe/invoices.json"] += invoices
            _usage(s, cus, rng, days, uw)
            expected.append(
                [
                    cus,
                    s.name,
                    s.archetype,
                    s.verdict,
                    s.tier,
                    s.arr_usd,
                    "annual" if s.annual else "monthly",
                    s.renewal.isoformat(),
                    ARCHETYPES[s.archetype][3],
                    s.split,
                    ABSTAIN.get(s.archetype, ""),
                    "month" if s.billed_monthly or not s.annual else "year",
                    " ".join(sorted(s.missing | ({"usage"} if s.hide_usage else set()))),
                ]
            )
    for rel, obj in acc.items():
        (out / rel).write_text(json.dumps(obj))
    for channel, msgs in histories.items():
        (out / "slack" / "history" / f"{channel}.json").write_text(json.dumps(msgs))
    with open(out / "expected.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "customer_id",
                "name",
                "archetype",
                "expected_verdict",
                "expected_health_tier",
                "arr_usd",
                "contract",
                "renewal_date",
                "notes",
                "split",
                "expected_abstain",
                "billing_interval",
                "missing_sources",
            ]
        )
        w.writerows(expected)
    (out / "manifest.json").write_text(
        json.dumps(
            {
                "as_of": as_of.isoformat(),
                "seed": seed,
                "customers": customers,
                "tenant": "demo",
                "keys": KEYS,
                "slack_briefing_channel": BRIEFING_CHANNEL["id"],
            },
            indent=2,
        )
    )
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--customers", type=int, default=500)
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.datetime.now(dt.UTC).date())
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--missing-sources", action="store_true", help="leave some sources empty, as real books do")
    p.add_argument("--fresh", action="store_true", help="every Slack channel speaks the fresh evaluation book")
    a = p.parse_args()
    t0 = time.perf_counter()
    print(
        generate_workspace(
            a.out,
            customers=a.customers,
            as_of=a.as_of,
            seed=a.seed,
            missing_sources=a.missing_sources,
            fresh=a.fresh,
        ),
        f"({a.customers} customers in {time.perf_counter() - t0:.1f}s)",
    )
