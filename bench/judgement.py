"""How good is the offline model? Its verdicts and health tiers on generated workspaces against the stories
they were generated from, for the phrasings the Slack rules were tuned on and, apart, for the held-out ones.

    python -m bench.judgement                      # 3 workspaces of 1,000 customers (seeds 7, 8, 9)
    python -m bench.judgement --customers 500 --seeds 7 --crm salesforce
    python -m bench.judgement --split tuning      # what a rule writer reads: the tuning split alone
    python -m bench.judgement --split fresh       # the fresh book alone (sandbox/phrases_fresh.py); `all`: all three

Each workspace leaves some sources empty, as real books do (`generate_workspace(missing_sources=True)`).
Evidence (Stripe and usage) is derived from the workspace files with the connectors' own signal functions; the
CRM (HubSpot for the first seed, Salesforce for the next, and so on, unless `--crm` names one) and Slack
evidence comes through the real connectors from the workspace served by the sandbox. A customer is judged when
its contract (the generator's truth, not the product's reading of it) renews 14-90 days out; whether the
product reads that renewal date right is measured apart, on annual contracts billed monthly.

Half of every workspace's customers (alternate ones) write their Slack messages from the held-out phrase banks
and style of sandbox/phrases.py, never read while tuning the rules. Per split it prints the confusion matrix,
accuracy per archetype, abstention on thin and contradictory accounts, health-tier agreement and false alarms on
healthy accounts; its last line is all of it as one JSON object: {"tuning": {...}, "held_out": {...}}.

The `fresh` split is a third book, written apart from the rules and from both halves (sandbox/phrases_fresh.py,
its own phrasings and message style): it is graded on workspaces of its own, the same seeds generated with
`fresh=True`, where every customer speaks it; `--split fresh` prints it alone, `--split all` after the other two.
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
from core import freshness
from core.factors import DEFAULT_WEIGHTS, breakdown
from core.health import assess, diary_item
from core.renewal import RenewalRule, crm_renewal_dates, renewal_date
from llm.base import CustomerContext
from llm.offline import verdict_for
from schemas.evidence import CustomerProfile, EvidenceBundle, EvidenceItem

LABELS = ["expansion", "standard", "at_risk", "likely_churn"]
TIERS = ("hot", "warm", "cold")
HEALTHY = ("expansion", "standard")
SPLITS = ("tuning", "held_out")
FRESH = "fresh"  # graded on workspaces of its own, so the other two splits' figures stay as they were
AS_OF = dt.date(2026, 11, 22)
RULE = RenewalRule()


def evidence_from_workspace(
    ws: Path, as_of: dt.date
) -> tuple[dict[str, CustomerProfile], dict[str, list[EvidenceItem]], dict[str, set[str]]]:
    """Profiles, Stripe and usage evidence, and the sources missing per customer (usage with no rows, as the
    usage connector reports it)."""
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
    profiles, items, missing = {}, {}, defaultdict(set)
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
            if not usage[p.customer_id]:
                missing[p.customer_id].add("usage")
    return profiles, items, missing


def crm_and_slack(
    ws: Path, crm: str, profiles: list[CustomerProfile], as_of: dt.date
) -> tuple[dict[str, list[EvidenceItem]], dict[str, set[str]]]:
    """CRM and Slack evidence through the real connectors, and per customer the sources that answered an error."""
    import asyncio

    from connectors.registry import open_connector
    from sandbox.server import start_sandbox

    box = start_sandbox(ws)
    config = {
        "hubspot": {"api_base": box.hubspot_host},
        "slack": {"api_base": box.slack_base_url, "team_id": "T0SANDBOX"},  # as connecting it stores
        "salesforce": {"api_base": box.salesforce_instance_url, "ca_file": box.ca_file},
    }
    out: dict[str, list[EvidenceItem]] = defaultdict(list)
    errors: dict[str, set[str]] = defaultdict(set)

    async def gather() -> None:
        for kind in (crm, "slack"):
            connector = open_connector(kind, box.keys[kind], config[kind])
            for i in range(0, len(profiles), 100):
                for cid, (items, error) in (await connector.gather(profiles[i : i + 100], as_of)).items():
                    out[cid] += items
                    if error:
                        errors[cid].add(kind)

    try:
        asyncio.run(gather())
    finally:
        box.stop()
    return out, errors


def judge_workspace(ws: Path, crm: str, as_of: dt.date) -> list[dict[str, object]]:
    """One row per paying customer: its truth beside the offline verdict (when due) and the briefing's tier."""
    with open(ws / "expected.csv") as f:
        expected = {r["customer_id"]: r for r in csv.DictReader(f)}
    profiles, items, missing = evidence_from_workspace(ws, as_of)
    base = dict(items)  # what the briefing gathers: billing and usage
    if crm != "none":
        gathered, errors = crm_and_slack(ws, crm, list(profiles.values()), as_of)
        for cid, more in gathered.items():
            items[cid] = items[cid] + more
        for cid, sources in errors.items():
            missing[cid] |= sources
    rows: list[dict[str, object]] = []
    for cid, p in profiles.items():
        truth = expected[cid]
        renews = dt.date.fromisoformat(truth["renewal_date"])
        row: dict[str, object] = {
            **truth,
            "due": 14 <= (renews - as_of).days <= 90,
            # what the customer sync stores (Stripe: the metadata key, else the period end), and with the CRM's
            # renewal deal close date first, as core/renewal's default order puts it
            "stripe_renewal": p.renewal_date,
            "read_renewal": renewal_date(RULE, crm=crm_renewal_dates(items[cid]), period_end=p.renewal_date)[0],
        }
        diary: list[EvidenceItem] = []
        if row["due"]:
            gaps = {source: "not read" for source in missing[cid]}
            bundle = EvidenceBundle(tenant_id="bench", customer_id=cid, run_date=as_of, items=items[cid], missing=gaps)
            # as the scan judges: stale evidence marked with the default limits (core.freshness)
            bundle = freshness.mark(bundle, freshness.DEFAULT_LIMITS)
            b = breakdown(bundle.items, DEFAULT_WEIGHTS, missing=bundle.missing)
            b = b.model_copy(update={"stale": freshness.stale_ids(bundle.items)})
            v = verdict_for(CustomerContext(profile=p, bundle=bundle, breakdown=b))
            row.update(verdict=v.classification, abstained=v.abstain_reason is not None, reason=v.abstain_reason)
            if (d := diary_item(0, as_of, v.classification, v.severity, b.pushed_by)) is not None:
                diary = [d]
        row["tier"] = assess(cid, p.name, p.arr_cents / 100, base[cid] + diary).tier
        rows.append(row)
    return rows


def figures(rows: list[dict[str, object]]) -> dict[str, object]:
    due = [r for r in rows if r["due"]]
    clear = [r for r in due if not r["expected_abstain"]]
    unsure = [r for r in due if r["expected_abstain"]]
    per: dict[str, list[bool]] = defaultdict(list)
    for r in due:  # a thin or contradictory story is read right when the model abstains on it
        per[str(r["archetype"])].append(
            bool(r["abstained"]) if r["expected_abstain"] else r["verdict"] == r["expected_verdict"]
        )
    confusion = Counter((str(r["expected_verdict"]), str(r["verdict"])) for r in clear)
    monthly = [r for r in rows if r["contract"] == "annual" and r["billing_interval"] == "month"]
    pct = lambda k, n: round(100 * k / n, 1) if n else None  # noqa: E731
    return {
        "due": len(due),
        "clear_accuracy": pct(sum(r["verdict"] == r["expected_verdict"] for r in clear), len(clear)),
        "per_archetype": {a: pct(sum(v), len(v)) for a, v in sorted(per.items())},
        "per_archetype_n": {a: len(v) for a, v in sorted(per.items())},
        "abstention_thin_contradictory": pct(sum(bool(r["abstained"]) for r in unsure), len(unsure)),
        "abstention_by_kind": {
            k: pct(
                sum(bool(r["abstained"]) for r in unsure if r["expected_abstain"] == k),
                sum(1 for r in unsure if r["expected_abstain"] == k),
            )
            for k in ("thin", "contradictory")
        },
        "abstained_on_clear": sum(bool(r["abstained"]) for r in clear),
        "tier_agreement": pct(sum(r["tier"] == r["expected_health_tier"] for r in rows), len(rows)),
        "false_alarms_healthy": sum(
            r["verdict"] in ("at_risk", "likely_churn") for r in due if r["expected_verdict"] in HEALTHY
        ),
        "false_cold_healthy": sum(r["tier"] == "cold" for r in rows if r["expected_health_tier"] != "cold"),
        "renewal_date_right_monthly_billed_annual": pct(
            sum(str(r["read_renewal"]) == r["renewal_date"] for r in monthly), len(monthly)
        ),
        "renewal_date_right_monthly_billed_annual_stripe_only": pct(
            sum(str(r["stripe_renewal"]) == r["renewal_date"] for r in monthly), len(monthly)
        ),
        "confusion": {t: {p: confusion[(t, p)] for p in LABELS} for t in LABELS},
        "tiers": {
            t: {p: sum(1 for r in rows if r["expected_health_tier"] == t and r["tier"] == p) for p in TIERS}
            for t in TIERS
        },
    }


def show(split: str, f: dict[str, object]) -> None:
    print(f"\n== {split}: {f['due']} customers due ==")
    print("verdicts on clear cases (rows expected, columns offline verdict):")
    print(f"{'':>14}" + "".join(f"{label:>14}" for label in LABELS))
    confusion = f["confusion"]
    assert isinstance(confusion, dict)
    for t in LABELS:
        print(f"{t:>14}" + "".join(f"{confusion[t][p]:>14}" for p in LABELS))
    print(f"clear cases right: {f['clear_accuracy']}%   abstained on clear cases: {f['abstained_on_clear']}")
    per, n = f["per_archetype"], f["per_archetype_n"]
    assert isinstance(per, dict) and isinstance(n, dict)
    print("per archetype: " + ", ".join(f"{a} {per[a]}% of {n[a]}" for a in per))
    abstain = f"{f['abstention_thin_contradictory']}% {f['abstention_by_kind']}"
    print(f"abstention on thin and contradictory accounts: {abstain}")
    tiers = f["tiers"]
    assert isinstance(tiers, dict)
    print("health tiers, all paying customers (rows expected, columns briefing):")
    print(f"{'':>8}" + "".join(f"{t:>8}" for t in TIERS))
    for t in TIERS:
        print(f"{t:>8}" + "".join(f"{tiers[t][p]:>8}" for p in TIERS))
    print(f"tier agreement {f['tier_agreement']}%; healthy accounts read cold: {f['false_cold_healthy']}")
    print(f"false at-risk/churn verdicts on healthy accounts: {f['false_alarms_healthy']}")
    print(
        "renewal date read right on annual contracts billed monthly: "
        f"{f['renewal_date_right_monthly_billed_annual']}% (CRM close date, then Stripe), "
        f"{f['renewal_date_right_monthly_billed_annual_stripe_only']}% from Stripe alone (what the sync stores)"
    )


def main(customers: int, seeds: list[int], crm: str, splits: tuple[str, ...] = SPLITS) -> dict[str, object]:
    from sandbox.generate import STORY_RICH_SHARES, generate_workspace

    rows: list[dict[str, object]] = []
    # the usual workspaces hold the tuning and held-out splits; the fresh book is dealt in workspaces of its own
    books = [fresh for fresh in (False, True) if any((split == FRESH) == fresh for split in splits)]
    for k, seed in enumerate(seeds):
        source = crm if crm != "mixed" else ("hubspot", "salesforce")[k % 2]
        for fresh in books:
            folder = Path(tempfile.mkdtemp()) / "ws"
            ws = generate_workspace(
                folder,
                customers=customers,
                as_of=AS_OF,
                seed=seed,
                shares=STORY_RICH_SHARES,
                missing_sources=True,
                fresh=fresh,
            )
            rows += judge_workspace(ws, source, AS_OF)
            print(f"seed {seed}: {customers} customers, CRM {source}" + (", fresh book" if fresh else ""), flush=True)
    out: dict[str, object] = {split: figures([r for r in rows if r["split"] == split]) for split in splits}
    for split in splits:
        show(split, figures([r for r in rows if r["split"] == split]))
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--seeds", type=lambda v: [int(x) for x in v.split(",")], default=[7, 8, 9])
    p.add_argument("--crm", choices=["mixed", "hubspot", "salesforce", "none"], default="mixed")
    # while writing rules, read the tuning split alone: the held-out figures are for a verdict on them, not a guide
    p.add_argument("--split", choices=[*SPLITS, FRESH, "both", "all"], default="both")
    a = p.parse_args()
    chosen = {"both": SPLITS, "all": (*SPLITS, FRESH)}.get(a.split, (a.split,))
    main(a.customers, a.seeds, a.crm, chosen)
