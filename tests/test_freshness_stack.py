"""Freshness and weight profiles on the real stack: the API, PostgreSQL and a batch classified by the real worker
on the dev server (the offline model: no vendor is needed to judge by the factor math)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from db import scans, tenants
from db.pool import Database
from schemas import ids as ids_
from schemas.evidence import EvidenceItem
from schemas.workflow_io import BatchRef, BatchResult
from tests import factories
from tests.conftest import create_tenant
from workflows.scan import ClassifyBatchWorkflow

pytestmark = pytest.mark.usefixtures("workers")
RUN = dt.date(2026, 11, 22)


def ev(sid: str, kind: str, factor: str, signal: float, on: dt.date) -> EvidenceItem:
    return EvidenceItem(
        source_id=sid,
        kind=kind,
        factor=factor,
        signal=signal,
        summary=f"{kind} seen",
        observed_on=on,  # type: ignore[arg-type]
    )


def churn(cid: str, crm_and_slack_on: dt.date) -> dict[str, list[EvidenceItem]]:
    """Churn read mostly from the CRM and Slack (records of `crm_and_slack_on`), and one invoice paid late."""
    return {
        "hubspot": [ev(f"hubspot:deal:{cid}", "renewal_deal_at_risk", "champion_status", -0.8, crm_and_slack_on)],
        "slack": [ev(f"slack:C1:{cid}.1", "cancel_talk", "support_sentiment", -0.7, crm_and_slack_on)],
        "stripe": [ev(f"stripe:in_{cid}", "invoice_paid_late", "payment_history", -0.2, RUN - dt.timedelta(10))],
    }


def borderline(cid: str, on: dt.date) -> dict[str, list[EvidenceItem]]:
    """-0.18 by the default weights (standard); at risk where the champion weighs more and the line is nearer."""
    return {
        "hubspot": [ev(f"hubspot:contact:{cid}", "champion_quiet", "champion_status", -0.4, on)],
        "stripe": [ev(f"stripe:in_{cid}", "invoice_paid_late", "payment_history", -0.2, on - dt.timedelta(5))],
        "usage": [ev(f"usage:{cid}:active_users:7d", "usage_fell", "usage_trend", -0.1, on - dt.timedelta(1))],
    }


async def batch(db: Database, tid: str, run: dt.date, evidence: dict[str, dict[str, list[EvidenceItem]]]) -> BatchRef:
    async with db.tenant(tid) as conn:
        await conn.executemany(
            "insert into scan_customers (tenant_id, run_date, customer_id, chunk_no, route, batch_no) "
            "values ($1, $2, $3, 0, 'TIER1', 0)",
            [(tid, run, c) for c in evidence],
        )
        for source in ("hubspot", "slack", "stripe", "usage"):
            per = {c: (by.get(source, []), None) for c, by in evidence.items()}
            await scans.write_evidence(conn, tid, run, source, per)
    return BatchRef(tenant_id=tid, run_date=run, batch_no=0, route="TIER1", size=len(evidence))


async def classify(client: Client, ref: BatchRef) -> BatchResult:
    return await client.execute_workflow(
        ClassifyBatchWorkflow.run,
        ref,
        id=ids_.classify_batch(ref.tenant_id, ref.run_date, 0),
        task_queue="renewals",
        result_type=BatchResult,
    )


async def verdicts(db: Database, tid: str, run: dt.date) -> dict[str, dict[str, Any]]:
    async with db.tenant(tid) as conn:
        rows = await conn.fetch(
            """select c.customer_id, c.classification, c.abstain_reason, c.factors, d.paragraph
                 from classifications c join diary_entries d using (tenant_id, customer_id, run_date)
                where c.run_date = $1""",
            run,
        )
    return {r["customer_id"]: dict(r) for r in rows}


ENTERPRISE = {
    "name": "enterprise",
    "rules": {"arr_min_usd": 100_000},
    "weights": {"payment_history": 0.2, "usage_trend": 0.3, "champion_status": 0.4, "support_sentiment": 0.1},
    "thresholds": {"at_risk": -0.1},
}


async def test_stale_sources_abstain_profiles_judge_their_segment_and_versions_are_cited(
    owner: asyncpg.Connection, db: Database, client: Client, api_url: str, secret_key: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    admin = await factories.token(db, tid, "admin", name="ana")
    stale, fresh = await factories.customer(db, tid), await factories.customer(db, tid)
    small = await factories.customer(db, tid, arr_cents=20_000_00)
    big = await factories.customer(db, tid, arr_cents=250_000_00)
    async with db.tenant(tid) as conn:
        await tenants.put_connector(conn, tid, "hubspot", None, {})
        await tenants.put_connector(conn, tid, "slack", None, {})
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {admin}"}) as h:
        first = (await h.get("/v1/profiles")).json()
        assert (first["version"], first["profiles"]) == (1, [])
        put = await h.put("/v1/profiles", json={"profiles": [ENTERPRISE]})
        assert put.status_code == 200, put.text
        assert put.json()["version"] == 2
        bad = {**ENTERPRISE, "weights": {**ENTERPRISE["weights"], "usage_trend": 0.5}}  # type: ignore[dict-item]
        assert (await h.put("/v1/profiles", json={"profiles": [bad]})).status_code == 422

        ref = await batch(
            db,
            tid,
            RUN,
            {
                stale: churn(stale, RUN - dt.timedelta(days=60)),  # the CRM 60 days, Slack 60 days: past both limits
                fresh: churn(fresh, RUN - dt.timedelta(days=2)),
                small: borderline(small, RUN),
                big: borderline(big, RUN),
            },
        )
        await classify(client, ref)
        got = await verdicts(db, tid, RUN)
        assert got[stale]["classification"] == "standard"
        assert got[stale]["abstain_reason"].startswith("stale_evidence: 79%")
        assert got[stale]["factors"]["stale"] == [f"hubspot:deal:{stale}", f"slack:C1:{stale}.1"]
        assert "Abstained: stale evidence." in got[stale]["paragraph"]
        assert got[fresh]["abstain_reason"] is None and got[fresh]["classification"] in ("at_risk", "likely_churn")
        assert got[fresh]["factors"]["stale"] == []
        assert (got[small]["classification"], got[small]["factors"]["profile"]) == ("standard", "default")
        assert (got[big]["classification"], got[big]["factors"]["profile"]) == ("at_risk", "enterprise")
        assert "Weighed by the enterprise profile, weights version 2." in got[big]["paragraph"]
        assert "Weighed by the default profile, weights version 2." in got[small]["paragraph"]
        held = (await h.get("/v1/customers", params={"abstain_reason": "stale_evidence"})).json()
        assert [c["id"] for c in held] == [stale]

        # The connector page: each source's newest evidence time, and its limit.
        conns = {c["kind"]: c for c in (await h.get("/v1/connectors")).json()}
        assert conns["hubspot"]["newest_data_on"] == (RUN - dt.timedelta(days=2)).isoformat()  # champion_quiet: as read
        assert conns["slack"]["newest_data_on"] == (RUN - dt.timedelta(days=2)).isoformat()
        assert (conns["hubspot"]["freshness_days"], conns["slack"]["freshness_days"]) == (30, 14)

        # A change of the default weights through the settings is a new version, by its author, carrying the
        # profiles forward; the next day's diary cites it. Slack's limit raised: the old talk is fresh again.
        settings = (await h.get("/v1/settings")).json()
        assert settings["freshness_days"]["slack"] == 14
        settings["weights"] = {
            "payment_history": 0.4,
            "usage_trend": 0.3,
            "champion_status": 0.2,
            "support_sentiment": 0.1,
        }
        settings["freshness_days"] = {"slack": 90, "hubspot": 90}
        assert (await h.put("/v1/settings", json=settings)).status_code == 200
        now = (await h.get("/v1/profiles")).json()
        assert (now["version"], now["actor"], now["default_weights"]["payment_history"]) == (3, "ana", 0.4)
        assert [p["name"] for p in now["profiles"]] == ["enterprise"]
        versions = (await h.get("/v1/profiles/versions")).json()
        assert [v["version"] for v in versions] == [3, 2, 1]

    nxt = RUN + dt.timedelta(days=1)
    await classify(client, await batch(db, tid, nxt, {stale: churn(stale, RUN - dt.timedelta(days=60))}))
    again = (await verdicts(db, tid, nxt))[stale]
    assert again["abstain_reason"] is None and again["classification"] in ("at_risk", "likely_churn")
    assert again["factors"]["weights_version"] == 3
    assert "Weighed by the default profile, weights version 3." in again["paragraph"]
    async with db.tenant(tid) as conn:
        audit = await conn.fetchval("select count(*) from audit_log where action = 'profiles.changed'")
        with pytest.raises(asyncpg.PostgresError, match="permission denied"):
            await conn.execute("update weight_versions set actor = 'x'")
    assert audit == 1
    with pytest.raises(asyncpg.PostgresError, match="append-only"):  # not even the owner rewrites a version
        await owner.execute("delete from weight_versions where tenant_id = $1", tid)
