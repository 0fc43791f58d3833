"""The whole loop on real parts: the dev server, Postgres, the Stripe sandbox through the real SDK, the API over
HTTP, and an SMTP sink. Scan → verdicts, diary, drafts → Send → exactly one email."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from api.scans import start_scan
from db import tenants
from db.pool import Database
from schemas import ids, search
from schemas.workflow_io import DailyScanInput, TenantScanResult
from tests.conftest import AS_OF, create_tenant, manifest_key, record_history
from workers.stack import SmtpSink
from workflows.scan import DailyScanWorkflow

pytestmark = pytest.mark.usefixtures("workers")


async def scan(client: Client, tenant: str, day: dt.date = AS_OF) -> TenantScanResult:
    wid = await start_scan(client, tenant, day)
    return await client.get_workflow_handle(wid, result_type=TenantScanResult).result()


@pytest.fixture
async def scanned(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: object, workspace: Path, client: Client
) -> tuple[str, TenantScanResult]:
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )  # type: ignore[attr-defined]
    return tid, await scan(client, tid)


async def test_a_scan_writes_one_verdict_and_one_diary_entry_per_due_customer(
    scanned: tuple[str, TenantScanResult], db: Database
) -> None:
    tid, result = scanned
    assert result.due > 10, "the sample workspace should put customers 14-90 days from renewal"
    async with db.tenant(tid) as conn:
        due = await conn.fetch("select customer_id from scan_customers where run_date = $1", AS_OF)
        window = await conn.fetch(
            """select id from customers where renewal_date between $1::date + 14 and $1::date + 90
                                     and status in ('active', 'past_due', 'trialing')""",
            AS_OF,
        )
        diary = await conn.fetch("select customer_id from diary_entries where run_date = $1", AS_OF)
        verdicts = await conn.fetch(
            "select classification, cited_source_ids, customer_id from classifications where run_date = $1", AS_OF
        )
        evidence = {
            r["customer_id"]: {i["source_id"] for i in r["items"]}
            for r in await conn.fetch("select customer_id, items from evidence where run_date = $1", AS_OF)
        }
    assert {r["customer_id"] for r in due} == {r["id"] for r in window}
    assert sorted(r["customer_id"] for r in diary) == sorted(r["customer_id"] for r in due)
    assert len(verdicts) == result.due
    assert {v["classification"] for v in verdicts} >= {"standard", "at_risk"}
    async with db.tenant(tid) as conn:
        summary = await conn.fetchval("select summary from scan_runs where run_date = $1", AS_OF)
    assert sum(summary["routes"].values()) == result.due
    assert abs(sum(summary["route_mix"].values()) - 1.0) < 0.01 and "route_mix_drift" in summary
    assert summary["route_mix_target"]["TIER1"] == [0.6, 0.8]  # the realised mix is shown against its target
    assert summary["carried_forward"] == 0  # a first run has nothing to carry
    # The tenant's first run: every account counts as moved, so its mix is the baseline, never an alert. The worker
    # evaluated on-call's alerts as the batches landed and at the end (the state rows exist; neither is on).
    assert summary["route_mix_baseline"] is True and summary["route_mix_drift"] == []
    async with db.tenant(tid) as conn:
        states = dict(await conn.fetch("select kind, active from alert_state"))
    assert states == {"validation_failure_rate": False, "route_mix_drift": False}
    async with db.tenant(tid) as conn:
        assert await conn.fetchval("select count(*) from audit_log where action = 'scan.completed'") == 1
    for v in verdicts:  # never a source that is not in the customer's own bundle
        assert set(v["cited_source_ids"]) <= evidence[v["customer_id"]], v["customer_id"]


async def test_drafts_wait_for_an_operator_and_cite_only_their_bundle(
    scanned: tuple[str, TenantScanResult], db: Database, client: Client
) -> None:
    tid, result = scanned
    assert result.drafts > 0
    async with db.tenant(tid) as conn:
        drafts = await conn.fetch("select * from drafts where run_date = $1", AS_OF)
        evidence = {
            r["customer_id"]: {i["source_id"] for i in r["items"]}
            for r in await conn.fetch("select customer_id, items from evidence where run_date = $1", AS_OF)
        }
    assert len(drafts) == result.drafts
    await record_history(client, ids.tenant_scan(tid, AS_OF), "tenant_scan_completed")
    await record_history(client, ids.scan_chunk(tid, AS_OF, 0), "scan_chunk_routed_completed")
    await record_history(client, ids.classify_batch(tid, AS_OF, 0), "classify_batch_judged_completed")
    await record_history(client, drafts[0]["workflow_id"], "approval_waiting_v2")
    for d in drafts:
        assert d["status"] == "pending"
        assert set(d["anchors"]) <= evidence[d["customer_id"]]
        desc = await client.get_workflow_handle(d["workflow_id"]).describe()
        assert desc.status == WorkflowExecutionStatus.RUNNING


async def test_a_batch_is_started_with_its_route_and_upserts_nothing(
    scanned: tuple[str, TenantScanResult], client: Client, db: Database
) -> None:
    """The chunk sets the batch's Route search attribute at its start (an event and a visibility write fewer per
    batch than the batch upserting it, issue 14): the UI still finds every batch by route."""
    tid, _ = scanned
    handle = client.get_workflow_handle(ids.classify_batch(tid, AS_OF, 0))
    described = await handle.describe()
    async with db.tenant(tid) as conn:
        route = await conn.fetchval("select route from scan_customers where run_date = $1 and batch_no = 0", AS_OF)
    assert route is not None and described.typed_search_attributes.get(search.ROUTE) == route
    events = [e async for e in handle.fetch_history_events()]
    upserted = [
        key
        for e in events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
        for key in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    ]
    assert "Route" not in upserted  # (a patch marker upserts TemporalChangeVersion: that one stays)


async def test_rerunning_the_same_date_writes_nothing_twice(
    scanned: tuple[str, TenantScanResult], db: Database, client: Client
) -> None:
    tid, first = scanned

    async def counts() -> tuple[int, ...]:
        async with db.tenant(tid) as conn:
            return tuple(
                [
                    await conn.fetchval(f"select count(*) from {t}")
                    for t in (
                        "classifications",
                        "diary_entries",
                        "drafts",
                        "audit_log where action = 'verdict.recorded'",
                    )
                ]
            )

    before = await counts()
    again = await scan(client, tid)
    assert again.due == first.due
    assert await counts() == before


async def test_send_over_http_sends_exactly_one_email_whatever_the_clicks(
    scanned: tuple[str, TenantScanResult], db: Database, api_url: str, smtp: SmtpSink, client: Client
) -> None:
    tid, _ = scanned
    async with db.tenant(tid) as conn:
        token = await tenants.create_token(conn, tid, "operator", "alice")
        await conn.execute("update tenant_settings set undo_window_seconds = 0")  # tests/test_approval.py: undo
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api_url, headers=auth, timeout=30) as http:
        inbox = (await http.get("/v1/drafts")).json()["items"]
        assert inbox, "the scan should leave drafts in the inbox"
        draft = inbox[0]
        detail = (await http.get(f"/v1/drafts/{draft['id']}")).json()
        assert set(detail["anchors"]) <= {e["source_id"] for e in detail["evidence"]}
        assert detail["diary"][0]["paragraph"]
        assert {f["factor"] for f in detail["factors"]["factors"]} == {
            "payment_history",
            "usage_trend",
            "champion_status",
            "support_sentiment",
        }

        before = len(smtp.messages)
        clicks = await asyncio.gather(*[http.post(f"/v1/drafts/{draft['id']}/send") for _ in range(3)])
        assert all(r.status_code == 200 for r in clicks), [r.text for r in clicks]
        assert {r.json()["outcome"] for r in clicks} == {"sending"}  # one decision, accepted, then delivered
        # A later press is the same update (its id is the draft's): it answers with the one send's outcome.
        later = await http.post(f"/v1/drafts/{draft['id']}/send")
        assert later.status_code == 200 and later.json()["message_id"] == clicks[0].json()["message_id"]
        skip = await http.post(f"/v1/drafts/{draft['id']}/skip", json={"reason": "changed my mind"})
        assert skip.status_code == 409

    async with db.tenant(tid) as conn:
        wid = await conn.fetchval("select workflow_id from drafts where id = $1", draft["id"])
    assert await client.get_workflow_handle(wid).result() == "sent"
    await record_history(client, wid, "approval_sent_v2")
    sent = [m for m in smtp.messages[before:] if m["X-Renewals-Draft"] == draft["id"]]
    assert len(sent) == 1
    assert sent[0]["To"] == detail["to_email"] and sent[0]["Subject"] == detail["subject"]
    async with db.tenant(tid) as conn:
        assert await conn.fetchval("select status from drafts where id = $1", draft["id"]) == "sent"
        assert await conn.fetchval("select count(*) from sent_emails where draft_id = $1", draft["id"]) == 1


async def test_skip_then_send_is_refused_and_nothing_is_sent(
    scanned: tuple[str, TenantScanResult], db: Database, api_url: str, smtp: SmtpSink, client: Client
) -> None:
    tid, _ = scanned
    async with db.tenant(tid) as conn:
        token = await tenants.create_token(conn, tid, "operator", "bob")
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        draft = (await http.get("/v1/drafts")).json()["items"][-1]
        before = len(smtp.messages)
        skipped = await http.post(f"/v1/drafts/{draft['id']}/skip", json={"reason": "customer already called"})
        assert (skipped.status_code, skipped.json()["outcome"]) == (200, "skipped")
        send = await http.post(f"/v1/drafts/{draft['id']}/send")
        assert send.status_code == 409
        assert send.headers["content-type"].startswith("application/problem+json")
    assert len(smtp.messages) == before
    async with db.tenant(tid) as conn:
        wid = await conn.fetchval("select workflow_id from drafts where id = $1", draft["id"])
    await record_history(client, wid, "approval_skipped_v2")


async def test_a_wrong_stripe_key_fails_that_tenant_clearly_and_the_others_go_on(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: object, workspace: Path, client: Client
) -> None:
    base = sandbox.stripe_api_base  # type: ignore[attr-defined]
    good = await create_tenant(owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=base)
    bad = await create_tenant(owner, db, secret_key, stripe_key="rk_test_wrong", stripe_base=base)
    with pytest.raises(WorkflowFailureError) as failure:
        await scan(client, bad)
    assert "credentials rejected" in str(failure.value.cause)
    async with db.tenant(bad) as conn:
        run = await conn.fetchrow("select status, error from scan_runs where run_date = $1", AS_OF)
        connector = await conn.fetchrow("select status, last_error from connectors where kind = 'stripe'")
    assert run["status"] == "failed" and "credentials rejected" in run["error"]
    assert connector["status"] == "error" and "credentials rejected" in connector["last_error"]

    # The daily scan walks every active tenant; the bad key costs only its own tenant. Other tests' tenants
    # are parked so this run is about these two.
    await owner.execute("update tenants set active = (id = any($1::text[]))", [good, bad])
    handle = await client.start_workflow(
        DailyScanWorkflow.run,
        DailyScanInput(run_date=AS_OF + dt.timedelta(days=1)),
        id=f"daily-test-{good}",
        task_queue="renewals",
    )
    result = await handle.result()
    await record_history(client, handle.id, "daily_scan_completed")
    await record_history(client, ids.tenant_scan(bad, AS_OF), "tenant_scan_failed")
    assert result.tenants[good].startswith("completed")
    assert "credentials rejected" in result.tenants[bad]


async def test_auto_send_sends_opted_routes_only_and_never_enterprise_or_churn(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: object,
    workspace: Path,
    client: Client,
    smtp: SmtpSink,
) -> None:
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )  # type: ignore[attr-defined]
    async with db.tenant(tid) as conn:
        await conn.execute("""update tenant_settings set auto_send = '{"TIER1": true, "TIER2": true, "TIER3": true}'""")
    await scan(client, tid)

    async def settled() -> list[asyncpg.Record]:
        async with db.tenant(tid) as conn:
            rows = await conn.fetch("""select d.id, d.status, c.classification, cu.arr_cents from drafts d
                                         join classifications c using (tenant_id, customer_id, run_date)
                                         join customers cu on cu.tenant_id = d.tenant_id and cu.id = d.customer_id""")
        auto = [r for r in rows if r["classification"] != "likely_churn" and r["arr_cents"] < 50_000_00]
        return rows if all(r["status"] == "sent" for r in auto) else []

    from tests.conftest import eventually

    rows = await eventually(settled, timeout=60)
    held = [r for r in rows if r["classification"] == "likely_churn" or r["arr_cents"] >= 50_000_00]
    assert held and all(r["status"] == "pending" for r in held)
    sent_ids = {m["X-Renewals-Draft"] for m in smtp.messages}
    assert {r["id"] for r in rows if r["status"] == "sent"} <= sent_ids
    assert not {r["id"] for r in held} & sent_ids


async def test_usage_from_the_tenants_product_database_joins_the_evidence(
    owner: asyncpg.Connection,
    product_pg: str,
    db: Database,
    secret_key: str,
    sandbox: object,
    workspace: Path,
    client: Client,
) -> None:
    from core.secrets import encrypt
    from sandbox.product_db import QUERY, load_usage

    product = await load_usage(product_pg, workspace, "product_test")
    tid = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )  # type: ignore[attr-defined]
    async with db.tenant(tid) as conn:
        await tenants.put_connector(conn, tid, "usage", encrypt(secret_key, product), {"query": QUERY})
    result = await scan(client, tid)
    async with db.tenant(tid) as conn:
        kinds = [
            i["kind"] for r in await conn.fetch("select items from evidence where source = 'usage'") for i in r["items"]
        ]
        errors = await conn.fetchval("select count(*) from evidence where source = 'usage' and error is not null")
    assert result.due > 0 and not result.gather_errors
    assert {"usage_grew", "usage_fell"} <= set(kinds) and errors == 0

    # A query that cannot run costs that source's evidence, named in each bundle, and the scan still completes.
    broken = await create_tenant(
        owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"), stripe_base=sandbox.stripe_api_base
    )  # type: ignore[attr-defined]
    async with db.tenant(broken) as conn:
        await tenants.put_connector(
            conn, broken, "usage", encrypt(secret_key, product), {"query": "select * from no_such_table"}
        )
    result = await scan(client, broken)
    assert result.due > 0 and any("usage query failed" in e for e in result.gather_errors)
    async with db.tenant(broken) as conn:
        missing = await conn.fetchval("select error from evidence where source = 'usage' limit 1")
        diary = await conn.fetchval("select paragraph from diary_entries limit 1")
        # The database's own words stay with the admins, under the reference the bundle names (issue 13).
        reference = missing.split("reference ", 1)[1].split(";", 1)[0]
        kept = await tenants.connector_error_detail(conn, reference)
    assert "no_such_table" not in missing and "Missing sources: usage" in diary
    assert kept is not None and "no_such_table" in kept["detail"]["error"]


async def test_route_mix_drift_is_recorded_as_an_alert_and_the_scan_still_completes(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: object, workspace: Path, client: Client
) -> None:
    from temporalio.testing import ActivityEnvironment

    from activities.scan import ScanActivities
    from schemas.workflow_io import TenantScanInput

    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    acts = ScanActivities(db, client, secret_key)
    inp = TenantScanInput(tenant_id=tid, run_date=AS_OF)
    async with db.tenant(tid) as conn:  # not its first run: that one would only set the baseline
        await conn.execute(
            """insert into scan_runs (tenant_id, run_date, status)
                 values ($1, $2::date - 1, 'completed'), ($1, $2, 'running')""",
            tid,
            AS_OF,
        )
    drifting = {"routes": {"TIER1": 5, "TIER2": 5}}
    for _ in range(2):
        await ActivityEnvironment().run(acts.finish_scan, inp, "completed", drifting, None)
    async with db.tenant(tid) as conn:
        run = await conn.fetchrow("select status, summary from scan_runs where run_date = $1", AS_OF)
        audit = [r["action"] for r in await conn.fetch("select action from audit_log order by id")]
        state = await conn.fetchval("select active from alert_state where kind = 'route_mix_drift'")
    assert run["status"] == "completed" and run["summary"]["route_mix_drift"]
    assert audit.count("scan.completed") == 2 and audit.count("alert.route_mix_drift") == 2 and state
