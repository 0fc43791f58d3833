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
    "champion_left_usage_grows": (0.02, "standard", "hot", "the champion left, but usage keeps growing"),
    "at_risk": (0.10, "at_risk", "cold", "late invoices, usage down, stale deal, champion quiet"),
    "likely_churn": (0.05, "likely_churn", "cold", "failed payments, cancel talk, champion gone or silent"),
}
# The book the test suite deals: every story several times over in a 120-customer workspace (trouble is
# over-represented on purpose, so each verdict and tier shows up). A demo on it would look like a bad quarter.
STORY_RICH_SHARES = {
    "expansion": 0.18,
    "past_due_but_expanding": 0.02,
    "steady": 0.33,
    "thin_new": 0.05,
    "single_late_invoice": 0.04,
    "stale_deal_happy_slack": 0.02,
    "champion_left_usage_grows": 0.02,
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
SLACK_LINES = {
    "happy": [
        "Thanks, that fixed it!",
        "The team loves the new dashboard.",
        "Great session today, thank you.",
        "Quick one: where do I change the report timezone?",
    ],
    "growth": [
        "We're rolling this out to the EMEA team next month - can we add seats?",
        "Is there a plan with higher limits? We're close to our agent quota.",
        "Could you send pricing for the Enterprise plan?",
    ],
    "trouble": [
        "We had another outage this morning, this is the third time this month.",
        "Support hasn't answered our ticket from last week.",
        "Reports have been slow all week.",
    ],
    "churn": [
        "How do we export all of our data?",
        "We are evaluating CompetitorCo for next year.",
        "Please confirm how cancellation works at the end of the term.",
    ],
    "onboarding": ["Getting started - is there a guide for the admin setup?", "First workflows are live, thanks!"],
    "late": ["Sorry about the invoice, it got stuck in our AP system. Paid now."],
    "handover": ["Hi all, I'm taking over from {champion}, who left the company last month."],
    "po": ["Finance is still sorting out the PO for the last invoice, but we want the extra seats now."],
}
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
CSM_REPLIES = ["Thanks for flagging, I'm on it.", "Let me set up a call this week.", "Details by email now."]
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
        "champion_left_usage_grows": rng.uniform(0.0, 0.08),
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
    price, arch, sub_id = _price(s.unit_month_usd, s.annual), s.archetype, _id("sub_", cus)
    start = s.renewal - dt.timedelta(days=365 if s.annual else 30)
    contract = "annual" if s.annual else "monthly"
    trial = arch == "thin_new" and rng.random() < 0.3
    troubled = arch in ("likely_churn", "past_due_but_expanding") and rng.random() < 0.5
    sub = _subscription(
        sub_id,
        cus,
        price,
        s.seats_now,
        start,
        s.renewal,
        s.created,
        "trialing" if trial else "past_due" if troubled else "active",
        contract,
        trial_end=_ts(s.renewal) if trial else None,
    )
    sub["cancel_at_period_end"] = arch == "likely_churn" and rng.random() < 0.6
    subs = [sub]
    if arch == "expansion" and rng.random() < 0.15:  # moved up from a cheaper plan: the old one is canceled
        ended = start - dt.timedelta(days=rng.randint(20, 90))
        cheaper = _price(max(10, s.unit_month_usd // 2), s.annual)
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
    # Monthly contracts are charged each month. Annual contracts are priced per seat-year and invoiced each
    # quarter (send_invoice, net 30), so seat true-ups and late payers show within the connector's 180 days.
    step = 91 if s.annual else 30
    dates = [
        d
        for d in (as_of - dt.timedelta(days=step * k + 3) for k in range(2 if s.annual else 6, -1, -1))
        if d >= s.created
    ]
    invoices = []
    late_budget = {"single_late_invoice": 1, "at_risk": 2, "likely_churn": 3}.get(arch, 0)
    for n, day in enumerate(dates):
        qty = round(s.seats_start + (s.seats_now - s.seats_start) * n / max(1, len(dates) - 1))
        amount = qty * s.unit_month_usd * 100 * (3 if s.annual else 1)
        send, last = s.annual, n == len(dates) - 1
        due = day + dt.timedelta(days=30) if send else day
        late, attempts, state = 0, 1, "paid"
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
                s.annual,
            )
        )
    if invoices and not s.annual and rng.random() < 0.1:  # next month's invoice, not yet finalized
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
                "new_champion",
                False,
                as_of - dt.timedelta(days=rng.randint(0, 15)),
            )
        )
    for k, ((first, last), title, role, left, seen) in enumerate(people):
        contact, sf_contact = str(51_000_000_000 + 3 * i + k), "003" + _id("", "con", seed, i, k, n=15)
        contact_ids.append(contact)
        email = f"{first.lower()}.{last.lower()}@{s.domain}"
        acc["hubspot/contacts.json"].append(
            {
                "id": contact,
                "properties": {
                    "firstname": first,
                    "lastname": last,
                    "email": email,
                    "jobtitle": title,
                    "lifecyclestage": "other" if left else "customer",
                    "renewal_role": role,
                    "left_company": "true" if left else "false",
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
                Champion__c=role in ("champion", "new_champion"),
                Left_Company__c=left,
                LastActivityDate=seen.isoformat(),
            )
        )
    acc["hubspot/associations.json"]["companies_to_deals"][company] = deal_ids
    acc["hubspot/associations.json"]["companies_to_contacts"][company] = contact_ids
    return {"hubspot_company_id": company, "salesforce_account_id": acct}


def _slack(
    s: Story, i: int, seed: int, rng: random.Random, as_of: dt.date, compact: bool, acc: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """A shared channel with the customer's champion (and successor); CSMs reply in threads."""
    channel = "C0" + _id("", "chan", seed, i, n=9).upper()
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
        }
    )
    first, last = s.champion
    email = f"{first.lower()}.{last.lower()}@{s.domain}"
    acc["slack/users.json"].append(
        _user(champ, f"{first} {last}", email, "Head of Operations", deleted=s.champion_left)
    )
    mood = {
        "expansion": "growth",
        "past_due_but_expanding": "po",
        "at_risk": "trouble",
        "likely_churn": "churn",
        "thin_new": "onboarding",
        "single_late_invoice": "late",
    }.get(s.archetype, "happy")
    speaker = champ
    if s.champion_left:  # a successor speaks now; the champion's own messages are old
        speaker = "U0" + _id("", "user2", seed, i, n=9).upper()
        acc["slack/users.json"].append(_user(speaker, f"New Owner {i}", f"owner{i}@{s.domain}", "Operations Manager"))
        mood = "handover" if s.archetype == "champion_left_usage_grows" else mood
    msgs: list[dict[str, Any]] = []
    last_day = as_of - dt.timedelta(days=s.quiet_days)
    for k in range(rng.randint(2, 3) if compact else rng.randint(3, 8)):
        day = last_day - dt.timedelta(days=k * rng.randint(2, 9))
        text = rng.choice(SLACK_LINES[mood] if k < 2 else SLACK_LINES["happy"])
        text = text.format(champion=f"{first} {last}")
        sec, suffix = _ts(day, 9 + k % 8), f"{i % 1000:03d}{k:03d}"
        who, ts = speaker if k < 2 else champ, f"{sec}.{suffix}"
        msg: dict[str, Any] = {"type": "message", "user": who, "text": text, "ts": ts}
        if "?" in text or mood in ("trouble", "churn"):  # questions and complaints get a CSM thread reply
            reply = f"{sec + 1800}.{suffix}"
            msg.update(thread_ts=ts, reply_count=1, reply_users=[csm], reply_users_count=1, latest_reply=reply)
            msgs.append(
                {
                    "type": "message",
                    "user": csm,
                    "text": rng.choice(CSM_REPLIES),
                    "ts": reply,
                    "thread_ts": ts,
                    "parent_user_id": who,
                }
            )
        msgs.append(msg)
    msgs.sort(key=lambda m: ts_key(m["ts"]), reverse=True)
    return channel, msgs


def _user(uid: str, real: str, email: str, title: str, deleted: bool = False) -> dict[str, Any]:
    return {
        "id": uid,
        "team_id": "T0SANDBOX",
        "name": email.split("@")[0],
        "real_name": real,
        "deleted": deleted,
        "is_bot": False,
        "is_restricted": True,
        "tz": "Europe/London",
        "profile": {"real_name": real, "display_name": real.split()[0], "email": email, "title": title},
    }


def _usage(s: Story, cus: str, rng: random.Random, days: list[tuple[int, dt.date, str]], w: Any) -> None:
    """Daily product metrics: the story's trend over the last 30 days; an error spike for some in trouble."""
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
    w.writerows(rows)


def generate_workspace(
    out: Path, *, customers: int = 500, as_of: dt.date, seed: int = 7, shares: Mapping[str, float] | None = None
) -> Path:
    """Write a workspace of `customers` customers as of `as_of`; the same seed writes the same bytes. `shares`
    (archetype -> share of each block of 100) replaces the realistic default, e.g. STORY_RICH_SHARES."""
    rng = random.Random(seed)
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
            s = _story(i, deck.pop(), rng, as_of)
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
    a = p.parse_args()
    t0 = time.perf_counter()
    print(
        generate_workspace(a.out, customers=a.customers, as_of=a.as_of, seed=a.seed),
        f"({a.customers} customers in {time.perf_counter() - t0:.1f}s)",
    )
