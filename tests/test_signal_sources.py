"""Property: every signal a connector derives names a real object of the raw data it came from — the source ids
the anti-fabrication rule trusts are themselves never invented."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.judgement import evidence_from_workspace
from sandbox.generate import generate_workspace

AS_OF = dt.date(2026, 11, 22)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), customers=st.integers(5, 40), days_later=st.integers(0, 60))
def test_every_signal_names_an_object_in_its_customers_raw_data(seed: int, customers: int, days_later: int) -> None:
    import json

    ws = generate_workspace(Path(tempfile.mkdtemp()) / "ws", customers=customers, as_of=AS_OF, seed=seed)
    run_date = AS_OF + dt.timedelta(days=days_later)
    _, items, _ = evidence_from_workspace(ws, run_date)
    invoices = {i["id"]: i["customer"] for i in json.loads((ws / "stripe" / "invoices.json").read_text())}
    subs = {s["id"]: s["customer"] for s in json.loads((ws / "stripe" / "subscriptions.json").read_text())}
    assert sum(len(v) for v in items.values()) >= len(items) > 0  # every paying customer has its subscription
    with_usage = {line.split(",", 1)[0] for line in (ws / "usage" / "daily_metrics.csv").read_text().splitlines()[1:]}
    for customer, signals in items.items():
        for item in signals:
            vendor, _, ref = item.source_id.partition(":")
            if vendor == "stripe":
                assert invoices.get(ref) == customer or subs.get(ref) == customer, item.source_id
            else:
                assert vendor == "usage" and ref.split(":")[0] == customer and customer in with_usage, item.source_id


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), customers=st.integers(20, 60))
def test_the_workspaces_departed_champions_are_read_as_gone_nobody_else(seed: int, customers: int) -> None:
    import csv
    import json

    from connectors.hubspot import contact_signals

    ws = generate_workspace(Path(tempfile.mkdtemp()) / "ws", customers=customers, as_of=AS_OF, seed=seed)
    contacts = {c["id"]: c for c in json.loads((ws / "hubspot" / "contacts.json").read_text())}
    assoc = json.loads((ws / "hubspot" / "associations.json").read_text())["companies_to_contacts"]
    company = {
        c["id"]: c["metadata"]["hubspot_company_id"] for c in json.loads((ws / "stripe" / "customers.json").read_text())
    }
    with open(ws / "expected.csv", newline="") as f:
        archetype = {r["customer_id"]: r["archetype"] for r in csv.DictReader(f)}
    for customer in archetype:
        people = [contacts[x] for x in assoc[company[customer]]]
        gone = {i.source_id for i in contact_signals(people, AS_OF) if i.kind == "champion_left"}
        # gone: the CRM's custom field says so, or the champion's mail hard-bounced for a mailbox that no
        # longer exists (a full mailbox says nothing)
        said = {
            f"hubspot:contact:{p['id']}"
            for p in people
            if p["properties"]["renewal_role"] == "champion"
            and (
                p["properties"]["left_company"] == "true"
                or p["properties"].get("hs_email_hard_bounce_reason_enum") == "UNKNOWN_USER"
            )
        }
        assert gone == said, customer
