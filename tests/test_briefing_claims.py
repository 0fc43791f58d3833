"""The briefing's "Mine" button through the real API and slack-sdk's signature verifier, and the escalation of the
cold accounts nobody claimed, run by the real worker on the dev server and told to a local on-call receiver."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from core import ownership
from db.pool import Database
from schemas import ids
from schemas.workflow_io import ReportRef
from tests import factories
from tests.conftest import create_tenant, record_history
from tests.test_api import Webhook
from tests.test_slack_approvals import signed
from workflows.claims import BriefingEscalationWorkflow

pytestmark = pytest.mark.usefixtures("workers")
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DAY = dt.date(2026, 11, 23)


def account(cid: str, name: str, tier: str, arr: float) -> dict[str, Any]:
    return {
        "customer_id": cid,
        "name": name,
        "arr_usd": arr,
        "tier": tier,
        "urgency": 0 if tier == "cold" else 2,
        "recommendation": f"Call about billing: {name} is past due",
        "cites": f"stripe:in_{cid}",
    }


def test_the_briefing_offers_mine_on_each_cold_account_shown() -> None:
    summary = {
        "top": [
            account("cus_a", "Acme", "cold", 90_000),
            account("cus_h", "Hot Co", "hot", 50_000),
            account("cus_b", "Beta", "cold", 40_000),
        ]
    }
    [block] = ownership.claim_blocks(DAY, summary)
    assert block["type"] == "actions"
    buttons = block["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Mine: Acme", "Mine: Beta"]
    assert len({b["action_id"] for b in buttons}) == 2 and all(ownership.is_claim(b["action_id"]) for b in buttons)
    assert ownership.parse_claim(buttons[1]["value"]) == (DAY, "cus_b")
    assert ownership.claim_blocks(DAY, {"top": [account("cus_h", "Hot Co", "hot", 1)]}) == []
    with pytest.raises(ValueError):
        ownership.parse_claim("cus_b")


async def test_mine_claims_once_and_the_unclaimed_escalate_once(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, api_url: str
) -> None:
    hook = Webhook()
    server = await asyncio.start_server(hook.handle, "127.0.0.1", 0)
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    admin = await factories.token(db, tid, "admin", "admin")
    await factories.token(db, tid, "operator", "ana")
    await factories.token(db, tid, "operator", "bob")
    acme = await factories.customer(db, tid, name="Acme")
    beta = await factories.customer(db, tid, name="Beta")
    summary = {"top": [account(acme, "Acme", "cold", 90_000), account(beta, "Beta", "cold", 40_000)]}
    async with db.tenant(tid) as conn:
        await conn.execute(
            "update tenant_settings set oncall_webhook = $1, claim_escalate_minutes = 60",
            f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook",
        )
        # Posted two hours ago (a worker that came back late): the hour's window has already run out.
        await conn.execute(
            """insert into reports (tenant_id, kind, day, summary, text, blocks, channel, slack_ts, posted_at)
               values ($1, 'briefing', $2, $3, 'b', $4, '#cs', '1700000000.000100', now() - interval '2 hours')""",
            tid,
            DAY,
            summary,
            ownership.claim_blocks(DAY, summary),
        )
    mine = f"{ownership.MINE}:0"
    url = f"/v1/slack/interactivity/{tid}"
    try:
        async with httpx.AsyncClient(base_url=api_url, timeout=60) as h:
            auth = {"Authorization": f"Bearer {admin}"}
            assert (
                await h.put("/v1/slack/signing-secret", json={"signing_secret": SECRET}, headers=auth)
            ).status_code == 204
            for user, op in (("UANA", "ana"), ("UBOB", "bob")):
                r = await h.put("/v1/slack/operators", json={"slack_user_id": user, "operator": op}, headers=auth)
                assert r.status_code == 200, r.text
            settings = (await h.get("/v1/settings", headers=auth)).json()
            assert settings["claim_escalate_minutes"] == 60

            value = ownership.claim_value(DAY, acme)
            forged_body, forged = signed("not-the-tenants-secret", "UANA", mine, value)
            assert (await h.post(url, content=forged_body, headers=forged)).status_code == 401
            stranger_body, stranger = signed(SECRET, "USTRANGER", mine, value)
            assert (await h.post(url, content=stranger_body, headers=stranger)).status_code == 403
            bad_body, bad = signed(SECRET, "UANA", mine, "not-a-claim")
            assert (await h.post(url, content=bad_body, headers=bad)).status_code == 400

            body, headers = signed(SECRET, "UANA", mine, value)
            r = await h.post(url, content=body, headers=headers)
            assert (r.status_code, r.json()["text"]) == (200, "Acme is ana's now"), r.text
            body, headers = signed(SECRET, "UBOB", mine, value)
            r = await h.post(url, content=body, headers=headers)
            assert (r.status_code, r.json()["text"]) == (200, "Acme is already ana's"), r.text

        ref = ReportRef(tenant_id=tid, kind="briefing", day=DAY)
        escalated = await client.execute_workflow(
            BriefingEscalationWorkflow.run, ref, id=ids.briefing_escalation(tid, DAY), task_queue="renewals"
        )
        assert escalated == 1
        await record_history(client, ids.briefing_escalation(tid, DAY), "briefing_escalation_completed")
        assert len(hook.received) == 1
        text = hook.received[0]["text"]
        assert "Beta ($40,000)" in text and "Acme" not in text and "unclaimed after 60 minutes" in text
        again = await client.execute_workflow(
            BriefingEscalationWorkflow.run, ref, id=f"{ids.briefing_escalation(tid, DAY)}/again", task_queue="renewals"
        )
        assert again == 0 and len(hook.received) == 1  # once per account, whatever runs again
        async with httpx.AsyncClient(base_url=api_url, timeout=60) as h:
            shown = (await h.get(f"/v1/reports/briefing/{DAY}", headers={"Authorization": f"Bearer {admin}"})).json()
        assert {c["customer_id"]: c["claimed_by"] for c in shown["claims"]} == {acme: "ana", beta: None}
        escalated_shown = {c["customer_id"]: c["escalated_at"] is not None for c in shown["claims"]}
        assert escalated_shown == {acme: False, beta: True}
    finally:
        server.close()
    async with db.tenant(tid) as conn:
        rows = {r["customer_id"]: r for r in await conn.fetch("select * from briefing_claims")}
        audit = await conn.fetch("select actor, action, subject, detail from audit_log where action like 'briefing.%'")
    assert (rows[acme]["claimed_by"], rows[acme]["slack_user"], rows[acme]["escalated_at"]) == ("ana", "UANA", None)
    assert rows[beta]["claimed_by"] is None and rows[beta]["escalated_at"] is not None
    assert [(a["actor"], a["action"], a["subject"]) for a in audit] == [
        ("ana", "briefing.claimed", acme),
        ("briefing", "briefing.escalated", DAY.isoformat()),
    ]
    assert audit[1]["detail"] == {"customers": [beta], "after_minutes": 60}


async def test_no_escalation_when_the_tenant_turned_it_off(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    summary = {"top": [account("cus_x", "Xeno", "cold", 10_000)]}
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set claim_escalate_minutes = null")
        await conn.execute(
            """insert into reports (tenant_id, kind, day, summary, text, blocks, posted_at)
               values ($1, 'briefing', $2, $3, 'briefing', '[]', now() - interval '1 day')""",
            tid,
            DAY,
            summary,
        )
    ref = ReportRef(tenant_id=tid, kind="briefing", day=DAY)
    got = await client.execute_workflow(
        BriefingEscalationWorkflow.run, ref, id=ids.briefing_escalation(tid, DAY), task_queue="renewals"
    )
    assert got == 0
