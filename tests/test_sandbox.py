"""The vendor sandbox through the vendors' real SDKs (no mocks), and the sample-workspace generator's
promises: deterministic, big enough, every verdict and tier present, every link naming a real object."""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hubspot
import pytest
import slack_sdk
import stripe
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId
from hubspot.crm.deals import ApiException as DealsApiException
from simple_salesforce import Salesforce, SalesforceExpiredSession, SalesforceMalformedRequest, format_soql
from slack_sdk.errors import SlackApiError

from sandbox.generate import generate_workspace
from sandbox.server import RpsWindow, SandboxHandle, requests_per_customer, start_sandbox
from sandbox.workspace import SoqlError, parse_soql, run_soql

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture(scope="session")
def sample_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_workspace(tmp_path_factory.mktemp("sandbox-ws"), customers=500, as_of=AS_OF, seed=7)


@pytest.fixture(scope="module")
def box(sample_ws: Path) -> Iterator[SandboxHandle]:
    handle = start_sandbox(sample_ws)
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def clean(request: pytest.FixtureRequest) -> None:
    """Each test starts with no faults, no counts and nothing posted."""
    if "box" in request.fixturenames:
        request.getfixturevalue("box").reset()


def load(ws: Path, rel: str) -> Any:
    return json.loads((ws / rel).read_text())


def stripe_client(box: SandboxHandle, key: str | None = None) -> stripe.StripeClient:
    return stripe.StripeClient(
        key or box.keys["stripe"], base_addresses={"api": box.stripe_api_base}, max_network_retries=0
    )


# ---- the generator ----------------------------------------------------------------------------------------


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    a = generate_workspace(tmp_path / "a", customers=40, as_of=AS_OF, seed=5)
    b = generate_workspace(tmp_path / "b", customers=40, as_of=AS_OF, seed=5)
    c = generate_workspace(tmp_path / "c", customers=40, as_of=AS_OF, seed=6)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (a / "stripe/invoices.json").read_bytes() != (c / "stripe/invoices.json").read_bytes()


def test_the_sample_book_has_every_verdict_tier_and_a_realistic_mix(sample_ws: Path) -> None:
    with open(sample_ws / "expected.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(load(sample_ws, "stripe/customers.json")) >= 500
    verdicts = Counter(r["expected_verdict"] for r in rows)
    assert set(verdicts) == {"expansion", "standard", "at_risk", "likely_churn"}
    assert {r["expected_health_tier"] for r in rows} == {"hot", "warm", "cold"}
    # Most of a real book is steady; about a quarter moves (so a first scan routes inside the target mix).
    for label, share in (("expansion", 0.12), ("standard", 0.73), ("at_risk", 0.10), ("likely_churn", 0.05)):
        assert abs(verdicts[label] / len(rows) - share) < 0.03, (label, verdicts)
    arr = [int(r["arr_usd"]) for r in rows]
    assert min(arr) >= 3_000 and max(arr) <= 400_000 and sum(a >= 50_000 for a in arr) >= 20
    assert {r["contract"] for r in rows} == {"monthly", "annual"}
    due = [r for r in rows if 14 <= (dt.date.fromisoformat(r["renewal_date"]) - AS_OF).days <= 90]
    assert 0.35 <= len(due) / len(rows) <= 0.45
    enterprise_due = {r["expected_verdict"] for r in due if int(r["arr_usd"]) >= 50_000}
    assert enterprise_due >= {"expansion", "likely_churn"}
    assert {
        "thin_new",
        "single_late_invoice",
        "stale_deal_happy_slack",
        "champion_left_usage_grows",
        "past_due_but_expanding",
    } <= {r["archetype"] for r in rows}


def test_every_link_names_a_real_object(sample_ws: Path) -> None:
    customers = load(sample_ws, "stripe/customers.json")
    companies = {c["id"] for c in load(sample_ws, "hubspot/companies.json")}
    accounts = {a["Id"] for a in load(sample_ws, "salesforce/Account.json")}
    channels = {c["id"] for c in load(sample_ws, "slack/channels.json")}
    users = {u["id"] for u in load(sample_ws, "slack/users.json")}
    for c in customers:
        meta = c["metadata"]
        assert meta["hubspot_company_id"] in companies and meta["salesforce_account_id"] in accounts
        assert meta["slack_channel_id"] in channels
        history = load(sample_ws, f"slack/history/{meta['slack_channel_id']}.json")
        assert all(m["user"] in users for m in history)
    ids = {c["id"] for c in customers}
    subs = load(sample_ws, "stripe/subscriptions.json")
    assert {s["customer"] for s in subs} == ids
    sub_ids = {s["id"] for s in subs}
    invoices = load(sample_ws, "stripe/invoices.json")
    assert all(i["customer"] in ids and i["subscription"] in sub_ids for i in invoices)
    assoc = load(sample_ws, "hubspot/associations.json")
    deals = {d["id"] for d in load(sample_ws, "hubspot/deals.json")}
    contacts = {c["id"] for c in load(sample_ws, "hubspot/contacts.json")}
    assert set(assoc["companies_to_deals"]) == companies
    assert all(set(v) <= deals for v in assoc["companies_to_deals"].values())
    assert all(set(v) <= contacts for v in assoc["companies_to_contacts"].values())
    opps = load(sample_ws, "salesforce/Opportunity.json")
    assert all(o["AccountId"] in accounts for o in opps)
    assert all(c["AccountId"] in accounts for c in load(sample_ws, "salesforce/Contact.json"))
    opp_ids = {o["Id"] for o in opps}
    assert all(h["OpportunityId"] in opp_ids for h in load(sample_ws, "salesforce/OpportunityHistory.json"))
    with open(sample_ws / "usage/daily_metrics.csv") as f:
        assert {r["customer_id"] for r in csv.DictReader(f)} == ids


def test_the_soql_subset_answers_what_connectors_send_and_refuses_the_rest() -> None:
    contact = {"attributes": {"type": "Contact"}}
    records = {
        "Contact": [
            {**contact, "Id": "003A", "AccountId": "001X", "Title": "O'Neil", "LastActivityDate": "2026-10-01"},
            {**contact, "Id": "003B", "AccountId": "001Y", "Title": None, "LastActivityDate": "2026-11-01"},
        ]
    }
    q = parse_soql(
        format_soql(
            "SELECT Id, title FROM contact WHERE AccountId IN {} "
            "AND LastActivityDate > 2026-09-01 ORDER BY LastActivityDate DESC LIMIT 5",
            ["001X", "001Y"],
        )
    )
    assert [r["Id"] for r in run_soql(q, records)] == ["003B", "003A"]
    named = run_soql(parse_soql(format_soql("SELECT Title FROM Contact WHERE Title = {}", "O'Neil")), records)
    assert named == [{**contact, "Title": "O'Neil"}]
    for bad, code in (
        ("SELECT Id FROM Contact WHERE a = 1 OR b = 2", "MALFORMED_QUERY"),
        ("SELECT COUNT() FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT Shoe FROM Contact", "INVALID_FIELD"),
    ):
        with pytest.raises(SoqlError) as e:
            run_soql(parse_soql(bad), records)
        assert e.value.code == code


# ---- Stripe -----------------------------------------------------------------------------------------------


def test_stripe_pages_newest_first_through_the_sdk(box: SandboxHandle, sample_ws: Path) -> None:
    client = stripe_client(box)
    seen = [c.id for c in client.v1.customers.list(params={"limit": 40}).auto_paging_iter()]
    expected = sorted(load(sample_ws, "stripe/customers.json"), key=lambda c: (-c["created"], c["id"]))
    assert seen == [c["id"] for c in expected]
    assert box.request_counts("stripe")["GET /v1/customers"] == 13  # 500 customers, 40 a page
    live = list(client.v1.subscriptions.list(params={"limit": 100}).auto_paging_iter())
    every = list(client.v1.subscriptions.list(params={"limit": 100, "status": "all"}).auto_paging_iter())
    assert all(s.status != "canceled" for s in live) and any(s.status == "canceled" for s in every)
    assert len(every) == len(load(sample_ws, "stripe/subscriptions.json"))
    per_customer = Counter(i["customer"] for i in load(sample_ws, "stripe/invoices.json"))
    cus = next(c for c, n in per_customer.most_common() if n >= 5)
    since = int(dt.datetime(2026, 8, 1, tzinfo=dt.UTC).timestamp())
    invoices = list(
        client.v1.invoices.list(params={"customer": cus, "created": {"gte": since}, "limit": 2}).auto_paging_iter()
    )
    assert len(invoices) >= 3 and all(i.customer == cus and i.created >= since for i in invoices)
    assert client.v1.customers.retrieve(cus).metadata["hubspot_company_id"]
    newer = client.v1.customers.list(params={"limit": 3, "ending_before": expected[5]["id"]})
    assert [c.id for c in newer.data] == [c["id"] for c in expected[2:5]] and newer.has_more


async def test_stripe_async_client_as_the_connector_builds_it(box: SandboxHandle) -> None:
    client = stripe.StripeClient(
        box.keys["stripe"],
        base_addresses={"api": box.stripe_api_base},
        max_network_retries=0,
        http_client=stripe.HTTPXClient(timeout=10),
    )
    page = await client.v1.invoices.list_async(params={"limit": 100, "status": "open"})
    found = [i async for i in page.auto_paging_iter()]
    assert found and all(i.status == "open" for i in found)


def test_stripe_errors_come_back_in_stripes_shape(box: SandboxHandle) -> None:
    with pytest.raises(stripe.AuthenticationError) as auth:
        stripe_client(box, "rk_test_wrong").v1.customers.list()
    assert auth.value.http_status == 401
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client(box).v1.customers.retrieve("cus_nope")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    box.add_fault("stripe", "/v1/invoices", 429, times=1, retry_after=7)
    with pytest.raises(stripe.RateLimitError) as limited:
        stripe_client(box).v1.invoices.list()
    assert limited.value.http_status == 429 and limited.value.headers["retry-after"] == "7"
    assert limited.value.json_body["error"]["code"] == "rate_limit"
    assert stripe_client(box).v1.invoices.list().data  # the fault was for one request only


# ---- HubSpot ----------------------------------------------------------------------------------------------


def test_hubspot_pages_with_after_and_reads_associations(box: SandboxHandle, sample_ws: Path) -> None:
    hs = hubspot.Client.create(access_token=box.keys["hubspot"], host=box.hubspot_host)
    contacts, after, pages = [], None, 0
    while True:
        page = hs.crm.contacts.basic_api.get_page(limit=100, after=after, properties=["email", "renewal_role"])
        contacts += page.results
        pages += 1
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(contacts) == len(load(sample_ws, "hubspot/contacts.json")) and pages > 5
    assert {c.properties["renewal_role"] for c in contacts} >= {"champion", "economic_buyer"}
    deal = hs.crm.deals.basic_api.get_page(limit=1).results[0]
    assert "dealstage" in deal.properties and "renewal_role" not in deal.properties  # HubSpot's defaults
    company = load(sample_ws, "hubspot/companies.json")[3]["id"]
    got = hs.crm.associations.v4.batch_api.get_page(
        "companies", "deals", BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": company}])
    )
    linked = load(sample_ws, "hubspot/associations.json")["companies_to_deals"][company]
    assert [t.to_object_id for t in got.results[0].to] == linked
    partial = hs.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": contacts[0].id}, {"id": "404"}], properties=["renewal_role"], properties_with_history=[]
        )
    )
    assert [r.id for r in partial.results] == [contacts[0].id] and partial.num_errors == 1  # HTTP 207
    with pytest.raises(CompaniesApiException) as denied:
        wrong = hubspot.Client.create(access_token="pat-wrong", host=box.hubspot_host)
        wrong.crm.companies.basic_api.get_page()
    assert denied.value.status == 401
    assert json.loads(denied.value.body)["category"] == "INVALID_AUTHENTICATION"
    bad_type = httpx.get(
        f"{box.hubspot_host}/crm/v3/objects/widgets", headers={"Authorization": f"Bearer {box.keys['hubspot']}"}
    )
    assert bad_type.status_code == 400 and bad_type.json()["status"] == "error"


# ---- Salesforce -------------------------------------------------------------------------------------------


def test_salesforce_query_all_follows_next_records_url_over_tls(box: SandboxHandle, sample_ws: Path) -> None:
    sf = Salesforce(
        instance_url=box.salesforce_instance_url, session_id=box.keys["salesforce"], session=box.salesforce_session()
    )
    sf.headers["Sforce-Query-Options"] = "batchSize=200"
    result = sf.query_all("SELECT Id, AccountId, Title, Champion__c FROM Contact")
    stored = load(sample_ws, "salesforce/Contact.json")
    assert result["totalSize"] == len(result["records"]) == len(stored) > 400
    assert len([k for k in box.request_counts("salesforce") if k.startswith("GET /query/01g")]) > 1
    accounts = [a["Id"] for a in load(sample_ws, "salesforce/Account.json")[:3]]
    opps = sf.query(
        format_soql(
            "SELECT Id, StageName, CloseDate FROM Opportunity WHERE AccountId IN {} ORDER BY CloseDate DESC", accounts
        )
    )
    assert opps["done"] and opps["records"]
    assert set(opps["records"][0]) == {"attributes", "Id", "StageName", "CloseDate"}
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query("SELECT Id FROM Contact WHERE Email LIKE '%x%'")
    assert bad.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceExpiredSession):
        Salesforce(
            instance_url=box.salesforce_instance_url, session_id="wrong", session=box.salesforce_session()
        ).query("SELECT Id FROM Account")


# ---- Slack ------------------------------------------------------------------------------------------------


def test_slack_history_pages_threads_and_posts(box: SandboxHandle, sample_ws: Path) -> None:
    slack = slack_sdk.WebClient(token=box.keys["slack"], base_url=box.slack_base_url)
    channel = next(
        c["metadata"]["slack_channel_id"]
        for c in load(sample_ws, "stripe/customers.json")
        if any(m.get("reply_count") for m in load(sample_ws, f"slack/history/{c['metadata']['slack_channel_id']}.json"))
    )
    stored = load(sample_ws, f"slack/history/{channel}.json")
    parents = [m for m in stored if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
    seen, cursor = [], None
    while True:
        page = slack.conversations_history(channel=channel, limit=1, cursor=cursor)
        seen += [m["ts"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == [m["ts"] for m in parents] and len(seen) > 1
    threaded = next(m for m in parents if m.get("reply_count"))
    assert len(slack.conversations_replies(channel=channel, ts=threaded["ts"])["messages"]) == 2
    assert slack.users_info(user=parents[0]["user"])["user"]["profile"]["email"]
    briefing = load(sample_ws, "manifest.json")["slack_briefing_channel"]
    sent = slack.chat_postMessage(channel=briefing, text="Customer health")
    assert sent["ok"] and box.posted_messages()[-1]["text"] == "Customer health"
    assert slack.conversations_history(channel=briefing, limit=1)["messages"][0]["ts"] == sent["ts"]
    link = slack.chat_getPermalink(channel=briefing, message_ts=sent["ts"])["permalink"]
    assert link.endswith(sent["ts"].replace(".", ""))
    with pytest.raises(SlackApiError) as unknown:
        slack.chat_postMessage(channel="C0NOSUCH", text="hi")
    assert (unknown.value.response.status_code, unknown.value.response["error"]) == (200, "channel_not_found")
    with pytest.raises(SlackApiError) as auth:
        slack_sdk.WebClient(token="xoxb-wrong", base_url=box.slack_base_url).auth_test()
    assert auth.value.response["error"] == "invalid_auth"


# ---- faults, rate limits, counts --------------------------------------------------------------------------


def test_faults_over_http_down_mode_counts_and_reset(box: SandboxHandle, sample_ws: Path) -> None:
    control = httpx.Client(base_url=box.base_url)
    slack = slack_sdk.WebClient(token=box.keys["slack"], base_url=box.slack_base_url)
    control.post(
        "/_sandbox/faults",
        json={"vendor": "slack", "path_prefix": "/conversations.history", "status": 429, "times": 1, "retry_after": 2},
    ).raise_for_status()
    channel = load(sample_ws, "slack/channels.json")[1]["id"]
    with pytest.raises(SlackApiError) as limited:
        slack.conversations_history(channel=channel)
    assert (limited.value.response.status_code, limited.value.response.headers["retry-after"]) == (429, "2")
    assert slack.conversations_history(channel=channel)["ok"]
    control.post("/_sandbox/faults", json={"vendor": "hubspot", "status": 503, "down": True})
    hs = hubspot.Client.create(access_token=box.keys["hubspot"], host=box.hubspot_host)
    for _ in range(3):
        with pytest.raises(DealsApiException) as down:
            hs.crm.deals.basic_api.get_page()
        assert down.value.status == 503
    counts = control.get("/_sandbox/requests").json()
    assert counts["slack"]["POST /conversations.history"] == 2
    assert counts["hubspot"]["GET /crm/v3/objects/deals"] == 3
    control.post("/_sandbox/reset")
    assert hs.crm.deals.basic_api.get_page().results
    assert control.get("/_sandbox/requests").json() == {"hubspot": {"GET /crm/v3/objects/deals": 1}}
    control.close()


def test_a_per_vendor_rate_limit_answers_429_with_retry_after(sample_ws: Path) -> None:
    handle = start_sandbox(sample_ws, rate_limits={"stripe": 5})
    try:
        statuses = []
        with httpx.Client(
            base_url=handle.stripe_api_base, headers={"Authorization": f"Bearer {handle.keys['stripe']}"}
        ) as http:
            for _ in range(12):
                r = http.get("/v1/customers", params={"limit": 1})
                statuses.append(r.status_code)
            assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
            assert r.json()["error"]["code"] == "rate_limit"
            # The window refills: poll under the limit (4/s) until it answers again, within a deadline.
            deadline = time.monotonic() + 5
            while (again := http.get("/v1/customers")).status_code == 429 and time.monotonic() < deadline:
                time.sleep(0.25)
            assert again.status_code == 200
        assert 4 <= statuses.count(200) <= 7 and statuses.count(429) >= 5
    finally:
        handle.stop()


def test_a_per_minute_window_allows_a_burst_within_the_minute_and_counts_the_minute() -> None:
    """Slack's 50 a minute is counted per clock minute: 5 requests in one second are 5/60 a second, not 5; the next
    minute starts afresh, and the busiest minute is what is reported."""
    w = RpsWindow(60)
    for t in [120.0, 120.1, 120.2, 120.3, 120.4, 179.9]:  # six in the minute from 120 s
        w.seen(t)
    for t in [180.0, 181.0]:  # two in the next
        w.seen(t)
    assert w.summary() == {"max_rps": round(6 / 60, 4), "requests": 8, "window_seconds": 60}
    second = RpsWindow()
    for t in [120.0, 120.1, 120.2, 120.3, 120.4, 179.9]:
        second.seen(t)
    assert second.summary() == {"max_rps": 5.0, "requests": 6, "window_seconds": 1}


def test_observed_rps_counts_each_clock_second_per_vendor(box: SandboxHandle) -> None:
    """GET /_sandbox/rps (and observed_rps()) says the busiest window per vendor (a clock second; a clock minute for
    Slack, whose limits are per minute) as requests per second, and the total; bench.scale compares it with each
    vendor's limit. A refused request counts too: it was sent."""
    with httpx.Client(base_url=box.base_url) as http:
        while time.time() % 1 > 0.5:  # start early in a clock second, so the burst below lands in one window
            time.sleep(0.01)
        for _ in range(7):
            http.get("/stripe/v1/customers", params={"limit": 1}, headers={"Authorization": "Bearer nope"})
        http.post("/slack/api/auth.test")
        seen = http.get("/_sandbox/rps").json()
        assert seen == {
            "stripe": {"max_rps": 7.0, "requests": 7, "window_seconds": 1},
            "slack": {"max_rps": round(1 / 60, 4), "requests": 1, "window_seconds": 60},
        }
        assert box.observed_rps() == seen
        assert requests_per_customer(box.request_counts(), 2) == {"slack": 0.5, "stripe": 3.5}
        assert http.post("/_sandbox/rps/reset").json() == {"ok": True}
        assert http.get("/_sandbox/rps").json() == {}
        assert sum(box.request_counts("stripe").values()) == 7  # the request counts stay
