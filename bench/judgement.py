"""How good is the offline model? Its verdicts on a sample workspace against the generator's expected verdicts.

    python -m bench.judgement --customers 500 --seed 7

Evidence (Stripe and usage) is derived from the workspace files with the connectors' own signal functions,
for the customers 14-90 days from renewal, exactly as a scan would select them; with `--crm hubspot` (the
default) or `salesforce`, the CRM and Slack evidence comes through the real connectors from the workspace
served by the sandbox. Prints a confusion matrix, accuracy, and the abstain rate on the archetypes built to be
ambiguous. `--crm none` measures Stripe and usage alone.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from connectors.stripe import HISTORY_DAYS, customer_row, invoice_signals, pick_subscription, subscription_signals
from connectors.usage import usage_signals
from core.factors import DEFAULT_WEIGHTS, breakdown
from core.health import assess, diary_item
from llm.base import CustomerContext
from llm.offline import verdict_for
from schemas.evidence import CustomerProfile, EvidenceBundle, EvidenceItem

LABELS = ["expansion", "standard", "at_risk", "likely_churn"]
AMBIGUOUS = {
    "thin_new",
    "single_late_invoice",
    "stale_deal_happy_slack",
    "champion_left_usage_grows",
    "past_due_but_expanding",
}


def evidence_from_workspace(
    ws: Path, as_of: dt.date
) -> tuple[dict[str, CustomerProfile], dict[str, list[EvidenceItem]]]:
    load = lambda rel: json.loads((ws / rel).read_text())  # noqa: E731
    subs: dict[str, list[dict]] = defaultdict(list)
    for s in load("stripe/subscriptions.json"):
        subs[s["customer"]].append(s)
    invoices: dict[str, list[dict]] = defaultdict(list)
    since = int(dt.datetime.combine(as_of - dt.timedelta(days=HISTORY_DAYS), dt.time(), dt.UTC).timestamp())
    for inv in load("stripe/invoices.json"):
        if inv["created"] >= since:  # the window the Stripe connector asks for
            invoices[inv["customer"]].append(inv)
    usage: dict[str, list[dict]] = defaultdict(list)
    with open(ws / "usage" / "daily_metrics.csv", newline="") as f:
        for r in csv.DictReader(f):
            usage[r["customer_id"]].append(
                {
                    k: (dt.date.fromisoformat(v) if k == "date" else v if k == "customer_id" else int(v))
                    for k, v in r.items()
                }
            )
    profiles, items = {}, {}
    for c in load("stripe/customers.json"):
        row = customer_row(c, pick_subscription(subs[c["id"]]))
        p = CustomerProfile(
            tenant_id="bench",
            customer_id=row["id"],
            name=row["name"],
            email=row["email"],
            arr_cents=row["arr_cents"],
            contract=row["contract"],
            renewal_date=row["renewal_date"],
            links=row["links"],
            billing=row["billing"],
        )
        if p.billing.get("status") in ("active", "past_due", "trialing"):
            profiles[p.customer_id] = p
            items[p.customer_id] = (
                subscription_signals(p)
                + invoice_signals(invoices[p.customer_id], as_of)
                + usage_signals(p.customer_id, usage[p.customer_id], as_of)
            )
    return profiles, items


def crm_and_slack(ws: Path, crm: str, profiles: list[CustomerProfile], as_of: dt.date) -> dict[str, list[EvidenceItem]]:
    import asyncio

    from connectors.registry import open_connector
    from sandbox.server import start_sandbox

    box = start_sandbox(ws)
    config = {
        "hubspot": {"api_base": box.hubspot_host},
        "slack": {"api_base": box.slack_base_url},
        "salesforce": {"api_base": box.salesforce_instance_url, "ca_file": box.ca_file},
    }
    out: dict[str, list[EvidenceItem]] = defaultdict(list)

    async def gather() -> None:
        for kind in (crm, "slack"):
            connector = open_connector(kind, box.keys[kind], config[kind])
            for i in range(0, len(profiles), 100):
                for cid, (items, _) in (await connector.gather(profiles[i : i + 100], as_of)).items():
                    out[cid] += items

    try:
        asyncio.run(gather())
    finally:
        box.stop()
    return out


def main(customers: int, seed: int, crm: str) -> None:
    from sandbox.generate import generate_workspace

    as_of = dt.date(2026, 11, 22)
    ws = generate_workspace(Path(tempfile.mkdtemp()) / "ws", customers=customers, as_of=as_of, seed=seed)
    with open(ws / "expected.csv") as f:
        expected = {r["customer_id"]: r for r in csv.DictReader(f)}
    profiles, items = evidence_from_workspace(ws, as_of)
    base, everyone = dict(items), profiles  # what the briefing gathers: billing and usage
    profiles = {cid: p for cid, p in profiles.items() if p.renewal_date and 14 <= (p.renewal_date - as_of).days <= 90}
    if crm != "none":
        for cid, more in crm_and_slack(ws, crm, list(profiles.values()), as_of).items():
            items[cid] = items[cid] + more
    matrix: Counter[tuple[str, str]] = Counter()
    abstained: Counter[str] = Counter()
    ambiguous = 0
    verdicts = {}
    for cid, p in profiles.items():
        bundle = EvidenceBundle(tenant_id="bench", customer_id=cid, run_date=as_of, items=items[cid])
        b = breakdown(bundle.items, DEFAULT_WEIGHTS)
        v = verdict_for(CustomerContext(profile=p, bundle=bundle, breakdown=b))
        verdicts[cid] = (v, b.pushed_by)
        truth = expected[cid]
        matrix[(truth["expected_verdict"], v.classification)] += 1
        if truth["archetype"] in AMBIGUOUS:
            ambiguous += 1
            abstained[truth["archetype"]] += v.abstain_reason is not None
    n = sum(matrix.values())
    right = sum(matrix[(label, label)] for label in LABELS)
    sources = "Stripe and usage" + ("" if crm == "none" else f", {crm} and Slack")
    print(f"{n} customers due (of {customers}), evidence from {sources}; rows: expected, columns: offline verdict")
    print(f"{'':>14}" + "".join(f"{label:>14}" for label in LABELS))
    for t in LABELS:
        print(f"{t:>14}" + "".join(f"{matrix[(t, p)]:>14}" for p in LABELS))
    print(f"accuracy {right / n:.1%}  ({right}/{n})")
    alone = {cid: assess(cid, p.name, p.arr_cents / 100, base[cid]).tier for cid, p in everyone.items()}
    diary = {
        cid: [d]
        for cid, (v, pushed_by) in verdicts.items()
        if (d := diary_item(0, as_of, v.classification, v.severity, pushed_by)) is not None
    }
    read = {
        cid: assess(cid, p.name, p.arr_cents / 100, base[cid] + diary.get(cid, [])).tier for cid, p in everyone.items()
    }
    for title, health in (("billing and usage alone", alone), ("+ the renewal scan's verdicts", read)):
        tiers = Counter((expected[cid]["expected_health_tier"], t) for cid, t in health.items())
        print(f"\nhealth tiers for all {len(health)} paying customers, {title} (rows expected, columns briefing):")
        print(f"{'':>8}" + "".join(f"{t:>8}" for t in ("hot", "warm", "cold")))
        for t in ("hot", "warm", "cold"):
            print(f"{t:>8}" + "".join(f"{tiers[(t, p)]:>8}" for p in ("hot", "warm", "cold")))
        agree = sum(tiers[(t, t)] for t in ("hot", "warm", "cold"))
        print(f"briefing counts: {dict(Counter(health.values()))}; agreement {agree / len(health):.1%}")
    print(
        f"abstained on ambiguous archetypes: {sum(abstained.values())}/{ambiguous} "
        f"({sum(abstained.values()) / max(1, ambiguous):.0%}) {dict(abstained)}"
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=500)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--crm", choices=["hubspot", "salesforce", "none"], default="hubspot")
    a = p.parse_args()
    main(a.customers, a.seed, a.crm)
