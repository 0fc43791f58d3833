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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEYS = {"stripe": "rk_test_sandbox", "hubspot": "pat-sandbox", "salesforce": "sf-session-sandbox",
        "slack": "xoxb-sandbox"}

# archetype: (share, expected verdict, expected health tier)
ARCHETYPES: dict[str, tuple[float, str, str]] = {
    "expansion": (0.18, "expansion", "hot"),
    "past_due_but_expanding": (0.02, "expansion", "warm"),
    "steady": (0.33, "standard", "warm"),
    "thin_new": (0.05, "standard", "warm"),
    "single_late_invoice": (0.04, "standard", "warm"),
    "stale_deal_happy_slack": (0.02, "standard", "warm"),
    "champion_left_usage_grows": (0.02, "standard", "hot"),
    "at_risk": (0.21, "at_risk", "cold"),
    "likely_churn": (0.13, "likely_churn", "cold"),
}
WORDS_A = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Soylent",
           "Cyberdyne", "Wonka", "Aperture", "Oscorp", "Nakatomi", "Gringotts", "Monarch", "Pied", "Dunder", "Kramerica"]
WORDS_B = ["Labs", "Systems", "Logistics", "Health", "Analytics", "Robotics", "Foods", "Capital", "Media", "Energy",
           "Software", "Retail", "Bio", "Networks", "Studios", "Partners"]
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kira", "Luis", "Maya", "Nils"]
LAST = ["Okafor", "Schmidt", "Tanaka", "Rossi", "Novak", "Silva", "Berg", "Khan", "Moreau", "Lund", "Reyes", "Park"]
SLACK_LINES = {
    "happy": ["Thanks, that fixed it!", "The team loves the new dashboard.", "Great session today, thank you."],
    "growth": ["We're rolling this out to the EMEA team next month - can we add seats?",
               "Is there a plan with higher limits? We're close to our agent quota.",
               "Could you send pricing for the Enterprise plan?"],
    "trouble": ["We had another outage this morning, this is the third time this month.",
                "Support hasn't answered our ticket from last week.", "Reports have been slow all week."],
    "churn": ["How do we export all of our data?", "We are evaluating CompetitorCo for next year.",
              "Please confirm how cancellation works at the end of the term."],
}


def _id(prefix: str, *parts: object, n: int = 14) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    num = int(digest, 16)
    out = []
    for _ in range(n):
        num, r = divmod(num, len(alphabet))
        out.append(alphabet[r])
    return prefix + "".join(out)


def _ts(day: dt.date, hour: int = 12) -> int:
    return int(dt.datetime.combine(day, dt.time(hour), dt.UTC).timestamp())


@dataclass
class Story:
    index: int
    archetype: str
    verdict: str
    tier: str
    name: str
    annual: bool
    arr_usd: int
    unit_month_usd: int
    seats_start: int
    seats_now: int
    renewal: dt.date
    created: dt.date


def _pick_archetype(rng: random.Random) -> str:
    r, acc = rng.random(), 0.0
    for name, (share, _, _) in ARCHETYPES.items():
        acc += share
        if r < acc:
            return name
    return "steady"


def _story(i: int, rng: random.Random, as_of: dt.date) -> Story:
    arch = _pick_archetype(rng)
    _, verdict, tier = ARCHETYPES[arch]
    annual = rng.random() < 0.6
    # Skewed like a real B2B book: most accounts small, about 5% at $50K ARR or more, a few up to $400K.
    arr = int(min(400_000, 3_000 * math.exp(rng.expovariate(1 / 0.95))))
    unit = rng.choice([20, 30, 45, 60, 80, 100])
    seats_now = max(2, round(arr / 12 / unit))
    change = {"expansion": rng.uniform(0.25, 0.6), "past_due_but_expanding": rng.uniform(0.3, 0.5),
              "champion_left_usage_grows": rng.uniform(0.0, 0.08), "at_risk": -rng.uniform(0.12, 0.3),
              "likely_churn": -rng.uniform(0.3, 0.5)}.get(arch, 0.0)
    seats_start = max(1, round(seats_now / (1 + change)))
    # ~45% renew 14-90 days out; the rest before or after the window.
    if rng.random() < 0.45:
        renewal = as_of + dt.timedelta(days=rng.randint(14, 90))
    else:
        renewal = as_of + dt.timedelta(days=rng.choice([rng.randint(1, 13), rng.randint(91, 330)]))
    if not annual:   # a monthly contract renews within a month
        renewal = as_of + dt.timedelta(days=rng.randint(1, 30))
    age = rng.randint(20, 50) if arch == "thin_new" else rng.randint(200, 1400)
    name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {i}"
    return Story(i, arch, verdict, tier, name, annual, seats_now * unit * 12, unit, seats_start, seats_now, renewal,
                 as_of - dt.timedelta(days=age))


def _price(s: Story) -> dict[str, Any]:
    interval = "year" if s.annual else "month"
    amount = s.unit_month_usd * 100 * (12 if s.annual else 1)
    return {"id": _id("price_", s.unit_month_usd, interval), "object": "price", "unit_amount": amount,
            "currency": "usd", "recurring": {"interval": interval, "interval_count": 1},
            "product": "prod_SeatPlan0000001"}


def _stripe(s: Story, cus: str, rng: random.Random, as_of: dt.date) -> tuple[dict, dict, list[dict]]:
    price = _price(s)
    period_start = s.renewal - dt.timedelta(days=365 if s.annual else 30)
    sub_id = _id("sub_", cus)
    churn = s.archetype == "likely_churn"
    status = "past_due" if s.archetype in ("likely_churn", "past_due_but_expanding") and rng.random() < 0.5 else "active"
    item = {"id": _id("si_", cus), "object": "subscription_item", "quantity": s.seats_now, "price": price,
            "current_period_start": _ts(period_start), "current_period_end": _ts(s.renewal)}
    sub = {"id": sub_id, "object": "subscription", "customer": cus, "status": status, "created": _ts(s.created),
           "cancel_at_period_end": churn and rng.random() < 0.6,
           "current_period_start": _ts(period_start), "current_period_end": _ts(s.renewal),
           "items": {"object": "list", "data": [item], "has_more": False, "url": f"/v1/subscription_items?subscription={sub_id}"},
           "metadata": {"contract": "annual" if s.annual else "monthly"}}
    # Six months of history: monthly invoices, or quarterly true-ups on annual contracts.
    step = 91 if s.annual else 30
    dates = [d for d in (as_of - dt.timedelta(days=step * k + 3) for k in range(6 if not s.annual else 2, -1, -1))
             if d >= s.created]
    invoices = []
    late_budget = {"single_late_invoice": 1, "at_risk": 2, "likely_churn": 3}.get(s.archetype, 0)
    for n, day in enumerate(dates):
        frac = n / max(1, len(dates) - 1)
        qty = round(s.seats_start + (s.seats_now - s.seats_start) * frac)
        per = s.unit_month_usd * 100 * (3 if s.annual else 1)
        amount = qty * per
        send = s.annual
        due = day + dt.timedelta(days=30) if send else day
        last = n == len(dates) - 1
        late = 0
        attempts = 1
        state = "paid"
        if late_budget and rng.random() < 0.6 and not (last and s.archetype == "single_late_invoice"):
            late, late_budget = rng.randint(8, 45), late_budget - 1
            attempts = rng.randint(2, 4) if not send else 1
        if last and s.archetype in ("likely_churn", "past_due_but_expanding") and due < as_of:
            state = "uncollectible" if s.archetype == "likely_churn" and rng.random() < 0.3 else "open"
            attempts = 4 if not send else 1
        paid_at = _ts(due + dt.timedelta(days=late)) if state == "paid" else None
        if paid_at and paid_at > _ts(as_of):
            paid_at, state = None, "open"
        inv_id = _id("in_", cus, n)
        invoices.append({
            "id": inv_id, "object": "invoice", "customer": cus, "subscription": sub_id, "status": state,
            "collection_method": "send_invoice" if send else "charge_automatically", "currency": "usd",
            "amount_due": amount, "amount_paid": amount if state == "paid" else 0, "created": _ts(day),
            "due_date": _ts(due) if send else None, "attempt_count": attempts,
            "status_transitions": {"finalized_at": _ts(day), "paid_at": paid_at, "voided_at": None,
                                   "marked_uncollectible_at": _ts(due + dt.timedelta(days=20))
                                   if state == "uncollectible" else None},
            "lines": {"object": "list", "has_more": False, "url": f"/v1/invoices/{inv_id}/lines",
                      "data": [{"id": _id("il_", inv_id), "object": "line_item", "quantity": qty, "amount": amount,
                                "price": price}]}})
    return sub, price, invoices


def generate_workspace(out: Path, *, customers: int = 500, as_of: dt.date, seed: int = 7) -> Path:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("stripe", "hubspot", "salesforce", "slack/history", "usage"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    days = 120 if customers <= 1000 else 45   # keep 10k-customer workspaces compact; trends need 30 days
    stripe_customers, subs, invoices = [], [], []
    companies, deals, contacts, assoc_deals, assoc_contacts = [], [], [], {}, {}
    accounts, opps, sf_contacts, opp_history = [], [], [], []
    channels, expected = [], []
    usage = open(out / "usage" / "daily_metrics.csv", "w", newline="")
    uw = csv.writer(usage)
    uw.writerow(["customer_id", "date", "active_users", "logins", "messages_sent", "agents_run", "jobs_executed",
                 "error_count", "p95_latency_ms", "licensed_seats"])
    for i in range(customers):
        s = _story(i, rng, as_of)
        cus = _id("cus_", seed, i)
        company_id, deal_id, contact_id = str(9_000_000 + i), str(20_000_000 + i), str(50_000_000 + i)
        acct = "001" + _id("", "acct", seed, i, n=15)
        opp = "006" + _id("", "opp", seed, i, n=15)
        sf_contact = "003" + _id("", "con", seed, i, n=15)
        channel = "C0" + _id("", "chan", seed, i, n=9).upper()
        champ_first, champ_last = rng.choice(FIRST), rng.choice(LAST)
        domain = s.name.split()[0].lower() + f"{i}.example"
        stripe_customers.append({
            "id": cus, "object": "customer", "name": s.name, "email": f"billing@{domain}", "created": _ts(s.created),
            "metadata": {"hubspot_company_id": company_id, "salesforce_account_id": acct, "slack_channel_id": channel,
                         "segment": "enterprise" if s.arr_usd >= 50_000 else "smb"}})
        sub, _, invs = _stripe(s, cus, rng, as_of)
        subs.append(sub)
        invoices.extend(invs)

        arch = s.archetype
        stale = arch in ("at_risk", "likely_churn", "stale_deal_happy_slack")
        deal_moved = as_of - dt.timedelta(days=rng.randint(45, 120) if stale else rng.randint(1, 20))
        stage = {"likely_churn": "closedlost" if rng.random() < 0.3 else "renewal_at_risk",
                 "expansion": "expansion_proposal"}.get(arch, "renewal_open")
        left = arch in ("likely_churn", "champion_left_usage_grows") and (arch != "likely_churn" or rng.random() < 0.6)
        quiet = {"at_risk": rng.randint(25, 60), "likely_churn": rng.randint(40, 90)}.get(arch, rng.randint(0, 10))
        last_touch = as_of - dt.timedelta(days=quiet)
        companies.append({"id": company_id, "properties": {"name": s.name, "domain": domain,
                          "annualrevenue": str(s.arr_usd)}, "createdAt": f"{s.created}T00:00:00Z",
                          "updatedAt": f"{deal_moved}T00:00:00Z", "archived": False})
        deals.append({"id": deal_id, "properties": {
            "dealname": f"{s.name} renewal {s.renewal.year}", "dealstage": stage, "pipeline": "renewals",
            "closedate": f"{s.renewal}T00:00:00Z", "amount": str(s.arr_usd),
            "hs_lastmodifieddate": f"{deal_moved}T09:00:00Z"}, "createdAt": f"{s.created}T00:00:00Z",
            "updatedAt": f"{deal_moved}T09:00:00Z", "archived": False})
        contacts.append({"id": contact_id, "properties": {
            "firstname": champ_first, "lastname": champ_last, "email": f"{champ_first.lower()}@{domain}",
            "jobtitle": "Head of Operations", "lifecyclestage": "former_customer" if left else "customer",
            "renewal_role": "champion", "left_company": "true" if left else "false",
            "notes_last_contacted": f"{last_touch}T10:00:00Z"}, "createdAt": f"{s.created}T00:00:00Z",
            "updatedAt": f"{last_touch}T10:00:00Z", "archived": False})
        assoc_deals[company_id], assoc_contacts[company_id] = [deal_id], [contact_id]
        accounts.append({"attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{acct}"},
                         "Id": acct, "Name": s.name, "Stripe_Customer_Id__c": cus})
        opps.append({"attributes": {"type": "Opportunity", "url": f"/services/data/v59.0/sobjects/Opportunity/{opp}"},
                     "Id": opp, "AccountId": acct, "Name": f"{s.name} renewal", "Type": "Renewal",
                     "StageName": {"closedlost": "Closed Lost", "renewal_at_risk": "Negotiation/Review",
                                   "expansion_proposal": "Proposal/Price Quote"}.get(stage, "Prospecting"),
                     "CloseDate": s.renewal.isoformat(), "Amount": float(s.arr_usd),
                     "LastModifiedDate": f"{deal_moved}T09:00:00.000+0000"})
        opp_history.append({"attributes": {"type": "OpportunityHistory", "url": ""},
                            "Id": "008" + _id("", "oh", seed, i, n=15), "OpportunityId": opp,
                            "StageName": "Prospecting", "CreatedDate": f"{s.created}T00:00:00.000+0000"})
        sf_contacts.append({"attributes": {"type": "Contact", "url": f"/services/data/v59.0/sobjects/Contact/{sf_contact}"},
                            "Id": sf_contact, "AccountId": acct, "FirstName": champ_first, "LastName": champ_last,
                            "Email": f"{champ_first.lower()}@{domain}", "Title": "Head of Operations",
                            "Champion__c": True, "Left_Company__c": left, "LastActivityDate": last_touch.isoformat()})

        champ_user = "U" + _id("", "user", seed, i, n=9).upper()
        channels.append({"id": channel, "name": f"ext-{domain.split('.')[0]}", "is_channel": True, "is_ext_shared": True,
                         "champion_user": champ_user})
        mood = {"expansion": "growth", "past_due_but_expanding": "growth", "at_risk": "trouble", "likely_churn": "churn",
                "stale_deal_happy_slack": "happy", "champion_left_usage_grows": "happy"}.get(arch, "happy")
        msgs = []
        for k in range(rng.randint(1, 3) if customers > 1000 else rng.randint(3, 8)):
            day = last_touch - dt.timedelta(days=k * rng.randint(2, 9))
            line = rng.choice(SLACK_LINES[mood] if k < 2 else SLACK_LINES["happy"])
            ts = f"{_ts(day, 9 + k % 8)}.{i % 1000:03d}{k:03d}"
            msgs.append({"type": "message", "user": champ_user, "text": line, "ts": ts,
                         **({"reply_count": 0, "thread_ts": ts} if "?" in line and mood in ("churn", "trouble") else {})})
        (out / "slack" / "history" / f"{channel}.json").write_text(json.dumps(msgs))

        trend = {"expansion": 0.45, "past_due_but_expanding": 0.35, "champion_left_usage_grows": 0.3,
                 "at_risk": -0.35, "likely_churn": -0.6, "thin_new": 0.0}.get(arch, rng.uniform(-0.05, 0.05))
        base_users = max(2, round(s.seats_start * rng.uniform(0.5, 0.9)))
        spike = arch in ("at_risk", "likely_churn") and rng.random() < 0.5
        for d in range(days, 0, -1):
            day = as_of - dt.timedelta(days=d)
            if day < s.created:
                continue
            f = 1 + trend * max(0.0, (30 - d) / 30) if d < 30 else 1.0
            users = max(0, round(base_users * f * rng.uniform(0.92, 1.08)))
            errors = round(users * rng.uniform(0.01, 0.05)) + (users * 2 if spike and d <= 2 else 0)
            uw.writerow([cus, day.isoformat(), users, users * rng.randint(1, 3), users * rng.randint(5, 20),
                         users * rng.randint(0, 3), users * rng.randint(1, 6), errors, rng.randint(180, 900),
                         s.seats_now])
        expected.append([cus, s.name, arch, s.verdict, s.tier, s.arr_usd, "annual" if s.annual else "monthly",
                         s.renewal.isoformat(), ""])
    usage.close()
    dump = lambda path, obj: (out / path).write_text(json.dumps(obj))  # noqa: E731
    dump("stripe/customers.json", stripe_customers)
    dump("stripe/subscriptions.json", subs)
    dump("stripe/invoices.json", invoices)
    dump("hubspot/companies.json", companies)
    dump("hubspot/deals.json", deals)
    dump("hubspot/contacts.json", contacts)
    dump("hubspot/associations.json", {"companies_to_deals": assoc_deals, "companies_to_contacts": assoc_contacts})
    dump("salesforce/Account.json", accounts)
    dump("salesforce/Opportunity.json", opps)
    dump("salesforce/Contact.json", sf_contacts)
    dump("salesforce/OpportunityHistory.json", opp_history)
    dump("slack/channels.json", channels)
    dump("slack/users.json", [{"id": c["champion_user"], "name": c["name"] + "-champion"} for c in channels])
    with open(out / "expected.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "name", "archetype", "expected_verdict", "expected_health_tier", "arr_usd",
                    "contract", "renewal_date", "notes"])
        w.writerows(expected)
    dump("manifest.json", {"as_of": as_of.isoformat(), "seed": seed, "customers": customers, "tenant": "demo",
                           "keys": KEYS})
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--customers", type=int, default=500)
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.datetime.now(dt.UTC).date())
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    print(generate_workspace(a.out, customers=a.customers, as_of=a.as_of, seed=a.seed))
