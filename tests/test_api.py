"""The operator API against the real app over HTTP, the real dev server and workers, and Postgres as the app's own
RLS-bound role: auth, the inbox and a draft's detail, decisions through the draft's real ApprovalWorkflow, settings,
setup, customers and the audit export, alerts and metrics. Rows come from tests/factories.py, not from a scan."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from api.app import create_app
from db import tenants
from db.pool import Database
from sandbox.server import SandboxHandle
from schemas.workflow_io import ApprovalInput
from tests import factories
from tests.conftest import create_tenant, eventually, record_history
from workers.stack import SmtpSink

pytestmark = pytest.mark.usefixtures("workers")


@dataclass
class World:
    a: str
    b: str
    tokens: dict[str, str]  # "a.operator", "a.admin", "b.operator", "b.admin"
    drafts: list[factories.Draft]  # tenant a's, varied for the filters


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(owner: asyncpg.Connection, db: Database, secret_key: str, client: Client) -> World:
    a = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    b = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    toks = {
        f"{t}.{role}": await factories.token(db, tid, role, f"{role}-{t}")
        for t, tid in (("a", a), ("b", b))
        for role in ("operator", "admin")
    }
    shapes = [
        dict(classification="at_risk", severity="MEDIUM", route="TIER2", arr_cents=24_000_00),
        dict(classification="likely_churn", severity="HIGH", route="TIER3", arr_cents=80_000_00),
        dict(classification="at_risk", severity="HIGH", route="TIER3", arr_cents=60_000_00),
        dict(classification="expansion", severity="LOW", route="TIER1", arr_cents=9_000_00),
    ]
    async with db.tenant(a) as conn:  # sends deliver at once here; tests/test_approval.py covers the undo window
        await conn.execute("update tenant_settings set undo_window_seconds = 0")
    drafts = [await factories.waiting_draft(db, client, a, **s) for s in shapes]
    await factories.waiting_draft(db, client, b)
    return World(a=a, b=b, tokens=toks, drafts=drafts)


def http(api_url: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60)


def is_problem(r: httpx.Response, status: int, kind: str) -> bool:
    return (
        r.status_code == status
        and r.headers["content-type"].startswith("application/problem+json")
        and r.json()["type"].endswith("/" + kind)
    )


# ---- auth ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer  x y", "Bearer nope", "Basic abc", "bearer rm_x_revoked", "Token rm_a_b", "Bearer rm_a b c"],
)
async def test_missing_malformed_or_unknown_tokens_get_401(api_url: str, header: str) -> None:
    async with http(api_url) as h:
        r = await h.get("/v1/drafts", headers={"Authorization": header} if header else {})
    assert is_problem(r, 401, "unauthorized"), r.text
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_an_expired_token_gets_401(world: World, api_url: str, db: Database) -> None:
    token = await factories.token(db, world.a, "operator", "short-lived", expires_in_days=1)
    async with http(api_url, token) as h:
        assert (await h.get("/v1/drafts")).status_code == 200
        async with db.tenant(world.a) as conn:
            await conn.execute(
                "update api_tokens set expires_at = now() - interval '1 second' where token_hash = $1",
                tenants.hash_token(token),
            )
        assert is_problem(await h.get("/v1/drafts"), 401, "unauthorized")


async def test_a_revoked_token_gets_401(world: World, api_url: str, db: Database) -> None:
    token = await factories.token(db, world.a, "operator", "temp")
    async with db.tenant(world.a) as conn:
        await tenants.revoke_token(conn, "temp")
    async with http(api_url, token) as h:
        assert is_problem(await h.get("/v1/drafts"), 401, "unauthorized")


async def test_a_deactivated_tenants_tokens_get_401(
    owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    token = await factories.token(db, tid, "operator", "soon-gone")
    async with http(api_url, token) as h:
        assert (await h.get("/v1/drafts")).status_code == 200
        await owner.execute("update tenants set active = false where id = $1", tid)
        assert is_problem(await h.get("/v1/drafts"), 401, "unauthorized")


@pytest.mark.parametrize(
    "method,path",
    [
        ("PUT", "/v1/settings"),
        ("GET", "/v1/connectors"),
        ("PUT", "/v1/connectors/hubspot"),
        ("GET", "/v1/tokens"),
        ("POST", "/v1/tokens"),
        ("DELETE", "/v1/tokens/x"),
        ("GET", "/v1/audit"),
    ],
)
async def test_operators_may_not_administer(world: World, api_url: str, method: str, path: str) -> None:
    async with http(api_url, world.tokens["a.operator"]) as h:
        r = await h.request(method, path, json={"name": "x", "key": "k" * 10} if method in ("PUT", "POST") else None)
    assert is_problem(r, 403, "forbidden"), r.text


# ---- the inbox ---------------------------------------------------------------------------------------------------


async def test_inbox_filters_and_pages(world: World, api_url: str) -> None:
    async with http(api_url, world.tokens["a.operator"]) as h:
        everything = (await h.get("/v1/drafts")).json()
        assert everything["total"] == 4 and {d["id"] for d in everything["items"]} == {d.id for d in world.drafts}
        assert everything["items"][0]["severity"] == "HIGH"  # HIGH first, then the largest accounts
        assert [d["arr_usd"] for d in everything["items"]][:2] == [80_000.0, 60_000.0]

        async def ids(query: str) -> set[str]:
            return {d["customer_id"] for d in (await h.get(f"/v1/drafts?{query}")).json()["items"]}

        by = [d.customer_id for d in world.drafts]
        assert await ids("classification=likely_churn") == {by[1]}
        assert await ids("severity=HIGH") == {by[1], by[2]}
        assert await ids("route=TIER1") == {by[3]}
        assert await ids("min_arr_usd=50000") == {by[1], by[2]}
        assert await ids("max_arr_usd=24000") == {by[0], by[3]}
        assert await ids("min_arr_usd=10000&max_arr_usd=70000&severity=HIGH") == {by[2]}
        assert await ids("status=sent&classification=expansion") == set()
        page = (await h.get("/v1/drafts?limit=3&offset=3")).json()
        assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (4, 1, 3, 3)
        for bad in (
            "severity=SEVERE",
            "route=TIER9",
            "min_arr_usd=-1",
            "limit=0",
            "limit=201",
            "offset=-1",
            "max_arr_usd=1e12",
            "status=deleted",
        ):
            assert is_problem(await h.get(f"/v1/drafts?{bad}"), 422, "validation-failed"), bad


async def test_a_draft_shows_its_evidence_factors_and_both_diary_entries(world: World, api_url: str) -> None:
    d = world.drafts[0]
    async with http(api_url, world.tokens["a.operator"]) as h:
        r = await h.get(f"/v1/drafts/{d.id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [e["source_id"] for e in body["evidence"]] == sorted(d.evidence_ids)
    assert body["evidence"][0]["facts"] == {"days_late": 21, "amount_usd": 1200}
    factors = body["factors"]
    assert {f["factor"] for f in factors["factors"]} == {
        "payment_history",
        "usage_trend",
        "champion_status",
        "support_sentiment",
    }
    assert factors["pushed_by"] == "payment_history" and factors["total"] < 0
    assert body["diary_entry"]["run_date"] == d.run_date.isoformat()
    assert body["diary_entry"]["classification"] == "at_risk"
    assert body["previous_diary_entry"]["run_date"] == factories.PREVIOUS_RUN.isoformat()
    assert [e["run_date"] for e in body["diary"]] == [d.run_date.isoformat(), factories.PREVIOUS_RUN.isoformat()]
    assert (body["subject"], body["to_email"], body["anchors"]) == (d.subject, d.to_email, d.evidence_ids)


async def test_an_unknown_draft_is_404(world: World, api_url: str) -> None:
    async with http(api_url, world.tokens["a.operator"]) as h:
        for r in [
            await h.get("/v1/drafts/nope"),
            await h.post("/v1/drafts/nope/send"),
            await h.post("/v1/drafts/nope/skip", json={"reason": "x"}),
        ]:
            assert is_problem(r, 404, "not-found"), r.text


# ---- decisions -----------------------------------------------------------------------------------------------------


async def test_a_double_send_sends_one_email_and_skip_after_send_is_409(
    world: World, api_url: str, db: Database, client: Client, smtp: SmtpSink
) -> None:
    d = await factories.waiting_draft(db, client, world.a)
    async with http(api_url, world.tokens["a.operator"]) as h:
        clicks = await asyncio.gather(*[h.post(f"/v1/drafts/{d.id}/send") for _ in range(3)])
        assert all(r.status_code == 200 for r in clicks), [r.text for r in clicks]
        assert {r.json()["outcome"] for r in clicks} == {"sending"}  # one decision, accepted
        assert await client.get_workflow_handle(d.workflow_id).result() == "sent"
        later = await h.post(f"/v1/drafts/{d.id}/send")  # the same decision's id: its first answer, or the ledger's
        assert later.status_code == 200 and later.json()["outcome"] in ("sending", "already_sent")
        assert later.json()["message_id"] == clicks[0].json()["message_id"]
        assert is_problem(await h.post(f"/v1/drafts/{d.id}/skip", json={"reason": "too late"}), 409, "conflict")
        edit = await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": "s", "body": "b"})
        assert is_problem(edit, 409, "conflict")
        assert (await h.get(f"/v1/drafts/{d.id}")).json()["status"] == "sent"
    assert len([m for m in smtp.messages if m["X-Renewals-Draft"] == d.id]) == 1
    async with db.tenant(world.a) as conn:
        actions = [r["action"] for r in await conn.fetch("select action from audit_log where subject = $1", d.id)]
    assert actions == ["draft.send_requested", "draft.sent"]


async def test_send_after_the_workflow_finished_answers_with_the_one_send(
    world: World, api_url: str, db: Database, client: Client, smtp: SmtpSink
) -> None:
    d = await factories.waiting_draft(db, client, world.a)
    async with http(api_url, world.tokens["a.operator"]) as h:
        first = await h.post(f"/v1/drafts/{d.id}/send")
        assert first.json()["outcome"] == "sending"
        assert await client.get_workflow_handle(d.workflow_id).result() == "sent"  # the workflow is over
        again = await h.post(f"/v1/drafts/{d.id}/send")
    # The same update id: Temporal answers with the first send's outcome even though the workflow has closed (and
    # should it not know the update any more, the API reads the email ledger and answers already_sent).
    assert (again.status_code, again.json()["outcome"]) in ((200, "sending"), (200, "already_sent")), again.text
    assert again.json()["message_id"] == first.json()["message_id"]
    assert len([m for m in smtp.messages if m["X-Renewals-Draft"] == d.id]) == 1


async def test_send_after_skip_is_409_and_nothing_is_sent(
    world: World, api_url: str, db: Database, client: Client, smtp: SmtpSink
) -> None:
    d = await factories.waiting_draft(db, client, world.a)
    async with http(api_url, world.tokens["a.operator"]) as h:
        skipped = await h.post(f"/v1/drafts/{d.id}/skip", json={"reason": "customer already called"})
        assert (skipped.status_code, skipped.json()["outcome"]) == (200, "skipped")
        send = await h.post(f"/v1/drafts/{d.id}/send")
        assert is_problem(send, 409, "conflict") and "skipped" in send.json()["detail"]
        again = await h.post(f"/v1/drafts/{d.id}/skip", json={"reason": "double click"})  # the same update id
        assert (again.status_code, again.json()["outcome"]) == (200, "skipped")
    assert not [m for m in smtp.messages if m["X-Renewals-Draft"] == d.id]


async def test_a_decision_on_a_draft_whose_workflow_is_gone_is_409(
    world: World, api_url: str, db: Database, client: Client
) -> None:
    never_started = await factories.draft(db, world.a)
    terminated = await factories.waiting_draft(db, client, world.a)
    await client.get_workflow_handle(terminated.workflow_id).terminate(reason="test: an engineer stopped it")
    async with http(api_url, world.tokens["a.operator"]) as h:
        for d in (never_started, terminated):
            for r in [
                await h.post(f"/v1/drafts/{d.id}/send"),
                await h.post(f"/v1/drafts/{d.id}/skip", json={"reason": "x"}),
                await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": "s", "body": "b"}),
            ]:
                assert is_problem(r, 409, "conflict"), r.text
                assert "not running" in r.json()["detail"]
    # Sent long ago, its workflow's history since removed by retention: the email ledger answers.
    old = await factories.draft(db, world.a, status="sent")
    async with db.tenant(world.a) as conn:
        await conn.execute(
            """insert into sent_emails (draft_id, tenant_id, message_id, status, sent_at)
                              values ($1, $2, '<old@renewal-manager>', 'sent', now())""",
            old.id,
            world.a,
        )
    async with http(api_url, world.tokens["a.operator"]) as h:
        r = await h.post(f"/v1/drafts/{old.id}/send")
        assert (r.status_code, r.json()["outcome"], r.json()["message_id"]) == (
            200,
            "already_sent",
            "<old@renewal-manager>",
        )
        r = await h.post(f"/v1/drafts/{old.id}/skip", json={"reason": "x"})
        assert is_problem(r, 409, "conflict") and "is sent" in r.json()["detail"]


async def test_a_send_that_failed_before_delivery_can_be_pressed_again(
    world: World, api_url: str, db: Database, client: Client, smtp: SmtpSink
) -> None:
    d = await factories.waiting_draft(db, client, world.a)
    async with db.tenant(world.a) as conn:  # the ledger after an SMTP refusal: claimed, released, nothing sent
        await conn.execute(
            """insert into sent_emails (draft_id, tenant_id, message_id, status, smtp_response)
                              values ($1, $2, '<x@y>', 'failed', '421 try later')""",
            d.id,
            world.a,
        )
    async with http(api_url, world.tokens["a.operator"]) as h:
        r = await h.post(f"/v1/drafts/{d.id}/send")
    assert (r.status_code, r.json()["outcome"]) == (200, "sending"), r.text
    assert await client.get_workflow_handle(d.workflow_id).result() == "sent"
    assert len([m for m in smtp.messages if m["X-Renewals-Draft"] == d.id]) == 1


async def test_an_edit_must_still_trace_to_the_evidence(
    world: World, api_url: str, db: Database, client: Client
) -> None:
    """An edit is a template through the same renderer and checks as a model's draft; a refusal names each
    problem."""
    d = await factories.waiting_draft(db, client, world.a)
    async with http(api_url, world.tokens["a.operator"]) as h:
        shown = (await h.get(f"/v1/drafts/{d.id}")).json()
        assert shown["template_body"] == d.template_body and "21 days late" in shown["body"]
        assert "{{" not in shown["body"] and d.evidence_ids[0] not in shown["body"]
        refs = {r["token"]: r["rendered"] for r in shown["references"]}
        assert refs[f"{{{{fact:{d.evidence_ids[0]}#days_late}}}}"] == "21 days"
        assert refs[f"{{{{fact:{d.evidence_ids[1]}#seats_now}}}}"] == "25 seats"

        invented = await h.post(
            f"/v1/drafts/{d.id}/edit",
            json={"subject": d.subject, "body": d.template_body + "\nWe also saw 9876 errors."},
        )
        assert is_problem(invented, 422, "validation-failed")
        assert invented.json()["problems"][0] == "a number typed in the prose: '9876'"
        assert "references" in invented.json()["problems"][-1]  # what to do instead
        legacy = await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": d.subject, "body": d.body})
        assert is_problem(legacy, 422, "validation-failed")  # the rendered text, numbers typed: refused, clearly
        assert "'21'" in legacy.json()["problems"][0]
        unknown = await h.post(
            f"/v1/drafts/{d.id}/edit", json={"subject": d.subject, "body": "See stripe:in_doesnotexist; 21 days late."}
        )
        assert is_problem(unknown, 422, "validation-failed")
        assert any("stripe:in_doesnotexist" in p for p in unknown.json()["problems"])
        both = await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": "7 things", "body": "See slack:C1:2 now."})
        problems = both.json()["problems"]
        assert any(p.startswith("subject: a number typed") for p in problems)
        assert any("slack:C1:2" in p and "source id" in p for p in problems)
        wrong = await h.post(
            f"/v1/drafts/{d.id}/edit",
            json={
                "subject": d.subject,
                "body": f"Usage grew to {{{{fact:{d.evidence_ids[1]}#seats_now}}}}, well done.",
            },
        )
        assert any("written as 'grew'" in p for p in wrong.json()["problems"]), wrong.text

        plain = await h.post(
            f"/v1/drafts/{d.id}/edit", json={"subject": "Your renewal", "body": "Hi there, could we talk this week?"}
        )
        assert (plain.status_code, plain.json()["outcome"]) == (200, "edited"), plain.text  # no references needed
        ok = await h.post(
            f"/v1/drafts/{d.id}/edit",
            json={"subject": "A shorter subject", "body": d.template_body.replace("Hello", "Hi")},
        )
        assert (ok.status_code, ok.json()["outcome"]) == (200, "edited"), ok.text
        after = (await h.get(f"/v1/drafts/{d.id}")).json()
        assert after["subject"] == "A shorter subject" and after["body"].startswith(f"Hi {d.customer_name} team,")
        assert "21 days late" in after["body"] and after["template_body"].startswith("Hi {{customer_name}}")
        assert is_problem(
            await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": "", "body": "x"}), 422, "validation-failed"
        )


async def test_the_sent_email_carries_the_tenants_sender_offer_and_both_parts(
    world: World, api_url: str, db: Database, client: Client, smtp: SmtpSink
) -> None:
    async with http(api_url, world.tokens["b.admin"]) as admin:
        current = (await admin.get("/v1/settings")).json()
        assert (current["sender_name"], current["reply_to"], current["signature"], current["offers"]) == (
            "",
            None,
            "",
            [],
        )
        offer = {"name": "loyalty", "kind": "discount", "maximum": 10, "routes": ["TIER2"], "verdicts": ["at_risk"]}
        for bad in (
            {"offers": [offer | {"maximum": 150}]},  # a discount is a percent
            {"offers": [offer, offer]},  # names are what drafts write: unique
            {"offers": [offer | {"name": "Big Deal"}]},
            {"offers": [offer | {"kind": "free_month"}]},
            {"reply_to": "not-an-address"},
        ):
            assert is_problem(await admin.put("/v1/settings", json=current | bad), 422, "validation-failed"), bad
        good = current | {
            "sender_name": "Sam Reyes",
            "reply_to": "sam@vendor.example",
            "signature": "Sam Reyes\nCustomer Success, R&D <team>",
            "offers": [offer],
        }
        r = await admin.put("/v1/settings", json=good)
        assert r.status_code == 200 and r.json() == good, r.text
    try:
        d = await factories.waiting_draft(db, client, world.b)
        async with http(api_url, world.tokens["b.operator"]) as h:
            refs = {r["token"]: r["rendered"] for r in (await h.get(f"/v1/drafts/{d.id}")).json()["references"]}
            assert refs["{{offer:loyalty}}"] == "a discount of up to 10% on your renewal"
            body = d.template_body.replace("Could we talk", "We can offer {{offer:loyalty}}. Could we talk")
            edited = await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": d.subject, "body": body})
            assert edited.status_code == 200, edited.text
            typed = body.replace("{{offer:loyalty}}", "a ten percent discount")
            refused = await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": d.subject, "body": typed})
            assert any("commercial term" in p for p in refused.json()["problems"]), refused.text
            assert (await h.post(f"/v1/drafts/{d.id}/send")).status_code == 200

        async def delivered() -> Message | None:  # after the tenant's undo window, with its settings of then
            return next((m for m in smtp.messages if m["X-Renewals-Draft"] == d.id), None)

        msg = await eventually(delivered, timeout=60)
    finally:
        async with http(api_url, world.tokens["b.admin"]) as admin:
            assert (await admin.put("/v1/settings", json=current)).status_code == 200
    assert msg["Date"] and msg["Message-ID"] and msg["To"] == d.to_email
    assert msg["From"].startswith("Sam Reyes <") and msg["Reply-To"] == "sam@vendor.example"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in msg.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "a discount of up to 10% on your renewal" in parts["text/plain"]
    assert parts["text/plain"].rstrip().endswith("Customer Success, R&D <team>")
    assert "R&amp;D &lt;team&gt;" in parts["text/html"] and "<team>" not in parts["text/html"]


async def test_a_nul_character_is_refused_as_422_wherever_it_comes_in(world: World, api_url: str) -> None:
    d = world.drafts[0]
    async with http(api_url, world.tokens["a.admin"]) as h:
        current = (await h.get("/v1/settings")).json()
        for r in [
            await h.get("/v1/customers", params={"abstain_reason": "x\x00"}),
            await h.get("/v1/customers/cus_%00/diary"),
            await h.get("/v1/drafts/d%00"),
            await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": "s\x00", "body": d.body}),
            await h.post(f"/v1/drafts/{d.id}/skip", json={"reason": "\x00"}),
            await h.put("/v1/settings", json=current | {"slack_channel": "#a\x00"}),
            await h.put("/v1/connectors/hubspot", json={"key": "k" * 10, "api_base": "http://x\x00"}),
            await h.delete("/v1/tokens/a%00"),
        ]:
            assert is_problem(r, 422, "validation-failed"), (r.request.url, r.text)
        assert (await h.get("/v1/settings")).json() == current


async def test_without_temporal_decisions_are_503_not_500(world: World, db: Database, secret_key: str) -> None:
    app = create_app(db, None, secret_key=secret_key)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://app",
        headers={"Authorization": f"Bearer {world.tokens['a.operator']}"},
    ) as h:
        r = await h.post(f"/v1/drafts/{world.drafts[0].id}/send")
        assert is_problem(r, 503, "unavailable")
        assert is_problem(await h.post("/v1/scans"), 503, "unavailable")


# ---- settings ------------------------------------------------------------------------------------------------------


async def test_settings_weights_must_sum_to_one_and_changes_are_audited(world: World, api_url: str) -> None:
    async with http(api_url, world.tokens["a.operator"]) as op:
        current = (await op.get("/v1/settings")).json()
    assert sum(current["weights"].values()) == pytest.approx(1.0)
    assert (current["auto_send"], current["window_min_days"], current["window_max_days"]) == ({}, 14, 90)
    async with http(api_url, world.tokens["a.admin"]) as admin:
        bad = current | {"weights": current["weights"] | {"payment_history": 0.9}}
        r = await admin.put("/v1/settings", json=bad)
        assert is_problem(r, 422, "validation-failed") and "sum to 1.0" in r.json()["detail"]
        for weights in ({"payment_history": 1.5}, {"usage_trend": -0.1}):
            assert is_problem(
                await admin.put("/v1/settings", json=current | {"weights": current["weights"] | weights}),
                422,
                "validation-failed",
            )
        for field, value in [
            ("window_min_days", 95),
            ("models", {"TIER1": "acme:brain"}),
            ("models", {"CEO": "offline"}),
            ("digest_recipients", ["not-an-email"]),
            ("auto_send", {"TIER4": True}),
            ("oncall_webhook", "ftp://x"),
        ]:
            assert is_problem(
                await admin.put("/v1/settings", json=current | {field: value}), 422, "validation-failed"
            ), field
        good = current | {
            "weights": {"payment_history": 0.4, "usage_trend": 0.3, "champion_status": 0.2, "support_sentiment": 0.1},
            "daily_cost_cap_usd": 0.02,
            "auto_send": {"TIER1": True},
            "window_min_days": 20,
            "window_max_days": 60,
            "digest_recipients": ["cs@acme.example"],
            "slack_channel": "#renewals",
            "models": {"TIER1": "anthropic:claude-haiku-4-5"},
        }
        r = await admin.put("/v1/settings", json=good)
        assert r.status_code == 200 and r.json() == good
        assert (await admin.put("/v1/settings", json=good)).status_code == 200  # unchanged: no audit entry
        lines = [json.loads(x) for x in (await admin.get("/v1/audit?format=jsonl")).text.splitlines()]
        changes = [x for x in lines if x["action"] == "settings.changed"]
        assert len(changes) == 1 and changes[0]["actor"] == "admin-a"
        assert changes[0]["detail"]["daily_cost_cap_usd"] == {"from": 0.05, "to": 0.02}
        assert changes[0]["detail"]["auto_send"] == {"from": {}, "to": {"TIER1": True}}
        r = await admin.put("/v1/settings", json=current)  # put it back for the other tests
        assert r.status_code == 200


# ---- setup: connectors and tokens ------------------------------------------------------------------------------------


class FakeStripe:
    """Answers GET /v1/customers on loopback: a list for the one good key, Stripe's 401 body for any other."""

    GOOD = "rk_test_good_key_123"

    def __init__(self) -> None:
        self.calls = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        self.calls += 1
        auth = next(
            (ln.split(":", 1)[1].strip() for ln in head.split("\r\n") if ln.lower().startswith("authorization:")), ""
        )
        if auth == f"Bearer {self.GOOD}" and head.startswith("GET /v1/customers"):
            status, body = "200 OK", {"object": "list", "data": [], "has_more": False, "url": "/v1/customers"}
        else:
            status, body = (
                "401 Unauthorized",
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
            )
        raw = json.dumps(body).encode()
        writer.write(
            f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(raw)}\r\n"
            f"connection: close\r\n\r\n".encode()
            + raw
        )
        await writer.drain()
        writer.close()


@pytest_asyncio.fixture(loop_scope="session")
async def fake_stripe() -> AsyncIterator[tuple[str, FakeStripe]]:
    fake = FakeStripe()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", fake
    server.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_stripe_key_is_checked_with_one_read_before_it_is_stored(
    world: World, api_url: str, db: Database, client: Client, fake_stripe: tuple[str, FakeStripe]
) -> None:
    base, fake = fake_stripe
    async with http(api_url, world.tokens["b.admin"]) as admin:
        refused = await admin.put("/v1/connectors/stripe", json={"key": "rk_test_wrong_key", "api_base": base})
        assert is_problem(refused, 422, "validation-failed") and "credentials rejected" in refused.json()["detail"]
        assert (await admin.get("/v1/connectors")).json() == []  # nothing stored
        unreachable = await admin.put(
            "/v1/connectors/stripe", json={"key": FakeStripe.GOOD, "api_base": f"http://127.0.0.1:{closed_port()}"}
        )
        assert is_problem(unreachable, 503, "unavailable"), unreachable.text
        ok = await admin.put("/v1/connectors/stripe", json={"key": FakeStripe.GOOD, "api_base": base})
        assert ok.status_code == 200, ok.text
        assert (ok.json()["status"], ok.json()["checked"], ok.json()["api_base"]) == ("connected", True, base)
        listed = await admin.get("/v1/connectors")
        assert [c["kind"] for c in listed.json()] == ["stripe"] and FakeStripe.GOOD not in listed.text
    assert fake.calls == 2

    # The worker made the reads (the API loads no vendor SDK); the key crossed Temporal encrypted.
    async def checks() -> list[Any]:  # visibility lags the runs a little
        query = "WorkflowType = 'CheckConnectorWorkflow' and TaskQueue = 'renewals'"
        found = [w async for w in client.list_workflows(query) if w.id.startswith(f"connector-check/{world.b}/")]
        return found if len(found) == 3 else []

    ours = await eventually(checks)
    assert sorted(w.status.name for w in ours) == ["COMPLETED", "FAILED", "FAILED"]
    for w in ours:
        history = await client.get_workflow_handle(w.id, run_id=w.run_id).fetch_history()
        assert FakeStripe.GOOD not in history.to_json()
    completed = next(w for w in ours if w.status.name == "COMPLETED")
    await record_history(client, completed.id, "check_connector_completed")
    async with db.tenant(world.b) as conn:  # stored encrypted, never in the clear
        sealed = await conn.fetchval("select secret_ciphertext from connectors where kind = 'stripe'")
        await tenants.connector_error(conn, world.b, "stripe", "connector stripe: credentials rejected (401)")
    assert FakeStripe.GOOD.encode() not in sealed
    async with http(api_url, world.tokens["b.admin"]) as admin:
        status = (await admin.get("/v1/connectors")).json()[0]
    assert (status["status"], status["last_error"]) == ("error", "connector stripe: credentials rejected (401)")


async def test_crm_and_slack_keys_are_checked_against_the_sandbox_before_they_are_stored(
    world: World, api_url: str, sandbox: SandboxHandle
) -> None:
    where = {kind: sandbox.connector_config(kind) for kind in ("hubspot", "salesforce", "slack")}
    async with http(api_url, world.tokens["b.admin"]) as admin:
        for kind, config in where.items():
            refused = await admin.put(f"/v1/connectors/{kind}", json={"key": f"{kind}-wrong-token", **config})
            assert is_problem(refused, 422, "validation-failed"), refused.text
            assert "credentials rejected" in refused.json()["detail"] and f"{kind}-wrong-token" not in refused.text
            assert kind not in [c["kind"] for c in (await admin.get("/v1/connectors")).json()]  # nothing stored
            ok = await admin.put(f"/v1/connectors/{kind}", json={"key": sandbox.keys[kind], **config})
            assert ok.status_code == 200, ok.text
            assert (ok.json()["status"], ok.json()["checked"]) == ("connected", True)
            assert sandbox.keys[kind] not in ok.text
        # An org whose Contact has no field by that name: said at connect time, not at 06:00 as lost evidence.
        sf = {"key": sandbox.keys["salesforce"], **where["salesforce"]}
        misnamed = await admin.put("/v1/connectors/salesforce", json=sf | {"champion_field": "Key_Contact__c"})
        assert is_problem(misnamed, 422, "validation-failed") and "Key_Contact__c" in misnamed.json()["detail"]
        assert "refused the key" not in misnamed.text
        assert (await admin.put("/v1/connectors/salesforce", json=sf | {"left_field": ""})).status_code == 200
        dsn = "postgresql://reader:pw-Zq81x@127.0.0.1:9/product"
        assert is_problem(await admin.put("/v1/connectors/usage", json={"key": dsn}), 422, "validation-failed")
        ok = await admin.put("/v1/connectors/usage", json={"key": dsn, "query": "select 1"})
        assert ok.status_code == 200 and "pw-Zq81x" not in ok.text
        assert is_problem(await admin.put("/v1/connectors/zendesk", json={"key": "x" * 10}), 422, "validation-failed")
        audit = (await admin.get("/v1/audit")).text
        assert sandbox.keys["hubspot"] not in audit and audit.count("connector.connected") >= 4


async def test_outside_development_an_api_base_must_be_a_vendors_https_host(
    world: World, db: Database, client: Client, secret_key: str, sandbox: SandboxHandle
) -> None:
    """A tenant admin must not be able to make the API probe the internal network through a connector check."""
    from api.setup import api_base_allowed
    from schemas.settings import Settings

    hosts = Settings(
        environment="production",
        secret_key=secret_key,
        app_db_password="pw",
        metrics_token="m",
        connector_hosts=["proxy.example.net"],
    ).api_base_hosts()
    assert hosts is not None and Settings().api_base_hosts() is None  # development: the sandbox is allowed
    assert api_base_allowed("https://acme.my.salesforce.com", hosts) and api_base_allowed(
        "https://slack.com/api/", hosts
    )
    assert api_base_allowed("https://proxy.example.net/hubspot", hosts)
    for url in (
        "http://api.hubapi.com",
        "https://10.0.0.5/",
        "https://hubapi.com.evil.example",
        "https://127.0.0.1",
        "https://127.0.0.1:8080\\@api.hubapi.com",
        "https://x@api.hubapi.com",
    ):  # parsers disagree on these
        assert not api_base_allowed(url, hosts), url
    app = create_app(db, client, secret_key=secret_key, api_base_hosts=hosts)
    seen = sandbox.request_counts("hubspot")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://app",
        headers={"Authorization": f"Bearer {world.tokens['b.admin']}"},
    ) as h:
        r = await h.put(
            "/v1/connectors/hubspot", json={"key": sandbox.keys["hubspot"], "api_base": sandbox.hubspot_host}
        )
    assert is_problem(r, 422, "validation-failed") and "api_base must be https" in r.json()["detail"]
    assert sandbox.request_counts("hubspot") == seen  # not contacted


async def test_without_a_secret_key_the_connectors_api_is_503(world: World, db: Database, client: Client) -> None:
    app = create_app(db, client)  # secret_key=None: connectors disabled
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://app",
        headers={"Authorization": f"Bearer {world.tokens['a.admin']}"},
    ) as h:
        r = await h.put("/v1/connectors/hubspot", json={"key": "hubspot-secret-token"})
    assert is_problem(r, 503, "unavailable") and "RENEWALS_SECRET_KEY" in r.json()["detail"]


async def test_admins_create_list_and_revoke_tokens(world: World, api_url: str) -> None:
    async with http(api_url, world.tokens["b.admin"]) as admin:
        created = await admin.post(
            "/v1/tokens", json={"name": "night-shift", "role": "operator", "expires_in_days": 30}
        )
        assert created.status_code == 201 and created.json()["expires_at"]
        token = created.json()["token"]
        assert is_problem(await admin.post("/v1/tokens", json={"name": "night-shift"}), 409, "conflict")
        listed = await admin.get("/v1/tokens")
        assert "night-shift" in {t["name"] for t in listed.json()} and token not in listed.text
        async with http(api_url, token) as night:
            assert (await night.get("/v1/drafts")).status_code == 200
            assert is_problem(await night.post("/v1/tokens", json={"name": "x"}), 403, "forbidden")
            assert (await admin.delete("/v1/tokens/night-shift")).status_code == 204
            assert is_problem(await night.get("/v1/drafts"), 401, "unauthorized")
        assert is_problem(await admin.delete("/v1/tokens/night-shift"), 404, "not-found")
        assert (await admin.post("/v1/tokens", json={"name": "night-shift"})).status_code == 201  # name free again
        actions = [json.loads(x)["action"] for x in (await admin.get("/v1/audit")).text.splitlines()]
        assert actions.count("token.created") == 2 and actions.count("token.revoked") == 1


# ---- customers, diary, audit ----------------------------------------------------------------------------------------


async def test_customers_with_their_last_verdict_and_the_diary_newest_first(world: World, api_url: str) -> None:
    async with http(api_url, world.tokens["a.operator"]) as h:
        listed = {c["id"]: c for c in (await h.get("/v1/customers?limit=500")).json()}
        d = world.drafts[1]
        assert (listed[d.customer_id]["classification"], listed[d.customer_id]["last_run_date"]) == (
            "likely_churn",
            d.run_date.isoformat(),
        )
        diary = (await h.get(f"/v1/customers/{d.customer_id}/diary")).json()
        assert [e["run_date"] for e in diary] == [d.run_date.isoformat(), factories.PREVIOUS_RUN.isoformat()]
        assert [e["classification"] for e in diary] == ["likely_churn", "standard"]
        assert (await h.get(f"/v1/customers/{d.customer_id}/diary?limit=1")).json() == diary[:1]
        assert is_problem(await h.get("/v1/customers/cus_nobody/diary"), 404, "not-found")
        churn = (await h.get("/v1/customers?classification=likely_churn")).json()
        assert [c["id"] for c in churn] == [d.customer_id] and churn[0]["model"] == "offline"


async def test_customers_demoted_for_citing_outside_their_evidence_can_be_listed(
    world: World, api_url: str, db: Database
) -> None:
    cid = await factories.customer(db, world.a)
    async with db.tenant(world.a) as conn:
        await conn.execute(
            """
            insert into classifications (tenant_id, customer_id, run_date, classification, severity, score, factors,
                                         cited_source_ids, recommended_action, abstain_reason, route, model)
            values ($1, $2, $3, 'standard', 'LOW', 0, '{}', '{}', 'internal_alert', 'source_validation_failed',
                    'TIER2', 'anthropic:claude-haiku-4-5')""",
            world.a,
            cid,
            factories.RUN,
        )
    async with http(api_url, world.tokens["a.operator"]) as h:
        demoted = (await h.get("/v1/customers?abstain_reason=source_validation_failed")).json()
    assert [(c["id"], c["route"], c["model"]) for c in demoted] == [(cid, "TIER2", "anthropic:claude-haiku-4-5")]


def test_every_alert_names_a_runbook_section_that_exists() -> None:
    import re
    from pathlib import Path

    import yaml

    deploy = Path(__file__).parent.parent / "deploy" / "prometheus"
    sections = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^## (.+)$", (deploy / "RUNBOOK.md").read_text(), flags=re.M)
    }
    rules = yaml.safe_load((deploy / "alerts.yml").read_text())["groups"][0]["rules"]
    assert {"RenewalsValidationFailureRateHigh", "RenewalsRouteMixDrift"} <= {r["alert"] for r in rules}
    for rule in rules:
        assert rule["annotations"]["runbook"].split("#", 1)[1] in sections, rule["alert"]


async def test_the_audit_log_exports_as_jsonl_and_csv(world: World, api_url: str, db: Database) -> None:
    async with db.tenant(world.a) as conn:
        for i in range(3):
            await tenants.audit(conn, world.a, "test", "probe.export", f"s{i}", {"n": i, "text": 'comma, "quote"'})
    async with http(api_url, world.tokens["a.admin"]) as admin:
        jl = await admin.get("/v1/audit?format=jsonl")
        assert jl.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(x) for x in jl.text.splitlines()]
        c = await admin.get("/v1/audit?format=csv")
        assert (
            c.headers["content-type"].startswith("text/csv")
            and 'filename="audit.csv"' in c.headers["content-disposition"]
        )
        rows = list(csv.DictReader(io.StringIO(c.text)))
        assert [int(r["id"]) for r in rows] == [x["id"] for x in lines] == sorted(x["id"] for x in lines)
        probes = [r for r in rows if r["action"] == "probe.export"]
        assert [json.loads(r["detail"])["n"] for r in probes] == [0, 1, 2]
        assert json.loads(probes[0]["detail"])["text"] == 'comma, "quote"'
        future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        assert (await admin.get("/v1/audit", params={"since": future})).text == ""
        assert is_problem(await admin.get("/v1/audit?format=xml"), 422, "validation-failed")


# ---- alerts and metrics ------------------------------------------------------------------------------------------


class Webhook:
    """On-call's receiver on loopback: keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(
                v
                for k, v in (ln.split(b":", 1) for ln in head.split(b"\r\n")[1:] if b":" in ln)
                if k.strip().lower() == b"content-length"
            )
        )
        self.received.append(json.loads(await reader.readexactly(length)))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()


@pytest_asyncio.fixture(loop_scope="session")
async def oncall(owner: asyncpg.Connection, db: Database, secret_key: str) -> AsyncIterator[tuple[str, str, Webhook]]:
    """A fresh tenant whose on-call webhook points at a local receiver, and an operator token."""
    hook = Webhook()
    server = await asyncio.start_server(hook.handle, "127.0.0.1", 0)
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:
        await conn.execute(
            "update tenant_settings set oncall_webhook = $1",
            f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook",
        )
    yield tid, await factories.token(db, tid, "operator"), hook
    server.close()


async def _worker_ends_a_run(db: Database, client: Client, tid: str, day: dt.date, routes: dict[str, int]) -> None:
    """What the worker does at a scan's end (the real activity, on the real database): record it, evaluate on-call's
    alerts, tell on-call of a crossing before returning."""
    from temporalio.testing import ActivityEnvironment

    from activities.scan import ScanActivities
    from schemas.workflow_io import TenantScanInput

    acts, inp = ScanActivities(db, client, "unused"), TenantScanInput(tenant_id=tid, run_date=day)
    await ActivityEnvironment().run(acts.begin_scan, inp)
    await ActivityEnvironment().run(
        acts.finish_scan, inp, "completed" if routes else "failed", {"routes": routes}, None
    )


async def test_the_worker_tells_on_call_once_per_crossing_and_the_inbox_only_reads(
    oncall: tuple[str, str, Webhook], db: Database, client: Client, api_url: str
) -> None:
    tid, token, hook = oncall
    async with http(api_url, token) as h:
        await factories.verdicts(db, tid, 90, demoted=False)
        await factories.verdicts(db, tid, 10, demoted=True, start=100)  # 10 % demoted: over the 5 % line
        # Nobody has evaluated it yet: the inbox shows the rate, but reading it neither raises the banner nor posts.
        before = await asyncio.gather(*[h.get("/v1/drafts") for _ in range(5)])
        assert {r.json()["banner"] for r in before} == {None}
        assert before[0].json()["validation_failure_rate_24h"] == pytest.approx(0.10)
        await _worker_ends_a_run(db, client, tid, dt.date(2026, 11, 10), {})  # notify awaits the receiver's answer
        assert len(hook.received) == 1 and tid in hook.received[0]["text"] and "fabricating" in hook.received[0]["text"]
        first = (await h.get("/v1/drafts")).json()
        assert "10.0%" in first["banner"] and [a["kind"] for a in first["alerts"]] == ["validation_failure_rate"]
        await asyncio.gather(*[h.get("/v1/drafts") for _ in range(5)])
        await _worker_ends_a_run(db, client, tid, dt.date(2026, 11, 11), {})  # still over: nobody is told again
        await factories.verdicts(db, tid, 200, demoted=False, start=1000)  # diluted to 3.3 %: the alert clears
        await _worker_ends_a_run(db, client, tid, dt.date(2026, 11, 12), {})
        assert (await h.get("/v1/drafts")).json()["banner"] is None
        await factories.verdicts(db, tid, 40, demoted=True, start=2000)  # back over: a new crossing
        await _worker_ends_a_run(db, client, tid, dt.date(2026, 11, 13), {})
        await h.get("/v1/drafts")
        await _worker_ends_a_run(db, client, tid, dt.date(2026, 11, 14), {})  # a last evaluation, to order the count
    assert len(hook.received) == 2


async def test_the_batch_that_crosses_the_rate_tells_on_call_as_it_is_recorded(
    oncall: tuple[str, str, Webhook], db: Database, client: Client, api_url: str
) -> None:
    """The worker's other evaluation point: JudgeActivities.record_batch (the real activity, on the real database),
    not only the scan's end. Its verdicts are already in (10 % demoted); the batch recorded next sees the crossing."""
    from temporalio.testing import ActivityEnvironment

    from activities.judge import JudgeActivities
    from db import scans
    from schemas.workflow_io import BatchRef

    tid, token, hook = oncall
    await factories.verdicts(db, tid, 90, demoted=False)
    await factories.verdicts(db, tid, 10, demoted=True, start=100)
    day = dt.date(2026, 11, 15)
    async with db.tenant(tid) as conn:
        await scans.save_model_output(conn, tid, day, 0, "final", "offline", {"verdicts": []})
    ref = BatchRef(tenant_id=tid, run_date=day, batch_no=0, route="TIER1", size=0)
    for _ in range(2):  # a retried activity: still one crossing
        await ActivityEnvironment().run(JudgeActivities(db, "unused").record_batch, ref)
    assert len(hook.received) == 1 and "fabricating" in hook.received[0]["text"]
    async with http(api_url, token) as h:
        assert [a["kind"] for a in (await h.get("/v1/drafts")).json()["alerts"]] == ["validation_failure_rate"]


async def test_the_first_scan_sets_the_route_mix_baseline_and_a_later_drift_is_told_once(
    oncall: tuple[str, str, Webhook], db: Database, client: Client, api_url: str
) -> None:
    tid, token, hook = oncall
    inflated = {"TIER1": 42, "TIER2": 48, "TIER3": 10}  # a first scan: every account counts as having moved
    async with http(api_url, token) as h:
        await _worker_ends_a_run(db, client, tid, dt.date(2026, 11, 19), inflated)
        baseline = (await h.get("/v1/drafts")).json()
        assert baseline["route_mix"] == {"TIER1": 0.42, "TIER2": 0.48, "TIER3": 0.1}
        assert baseline["route_mix_drift"] == [] and baseline["banner"] is None and hook.received == []
        async with db.tenant(tid) as conn:
            summary = await conn.fetchval("select summary from scan_runs where run_date = '2026-11-19'")
        assert summary["route_mix_baseline"] is True and summary["route_mix_drift"] == []
        await _worker_ends_a_run(db, client, tid, dt.date(2026, 11, 20), {"TIER1": 70, "TIER2": 25, "TIER3": 5})
        fine = (await h.get("/v1/drafts")).json()
        assert fine["route_mix_drift"] == [] and fine["banner"] is None
        assert fine["route_mix"] == {"TIER1": 0.7, "TIER2": 0.25, "TIER3": 0.05}
        for _ in range(2):  # the scan's end retried: still one crossing
            await _worker_ends_a_run(db, client, tid, dt.date(2026, 11, 21), {"TIER1": 50, "TIER2": 30, "TIER3": 20})
        drifted = (await h.get("/v1/drafts")).json()
        assert drifted["route_mix_drift"] == ["TIER1 at 50% (target 60%-80%)", "TIER3 at 20% (target 2%-10%)"]
        assert "route mix" in drifted["banner"] and [a["kind"] for a in drifted["alerts"]] == ["route_mix_drift"]
        await h.get("/v1/drafts")
        await _worker_ends_a_run(db, client, tid, dt.date(2026, 11, 22), {"TIER1": 70, "TIER2": 25, "TIER3": 5})
        assert (await h.get("/v1/drafts")).json()["banner"] is None
    assert len(hook.received) == 1 and "TIER3 at 20%" in hook.received[0]["text"]


async def test_metrics_expose_what_on_call_watches(world: World, api_url: str, db: Database) -> None:
    await factories.completed_run(db, world.b, dt.date(2026, 11, 19), {"TIER1": 7, "TIER2": 2, "TIER3": 1})
    async with db.tenant(world.b) as conn:  # the scan writes the realised mix into its run's summary
        await conn.execute("""update scan_runs set summary = '{"route_mix": {"TIER1": 0.7, "TIER2": 0.2,
                              "TIER3": 0.1}}' where run_date = '2026-11-19'""")
    async with http(api_url) as h:
        r = await h.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    a, b = world.a, world.b
    assert f'renewals_validation_failure_rate_24h{{tenant="{a}"}} 0.0' in text
    assert f'renewals_drafts_waiting{{tenant="{b}"}}' in text
    assert f'renewals_route_share{{route="TIER1",tenant="{b}"}} 0.7' in text
    for name in ("renewals_approval_latency_seconds_p50", "renewals_model_spend_usd_24h"):
        assert f'{name}{{tenant="{a}"}}' in text


async def test_metrics_can_require_a_scrape_token(db: Database, client: Client) -> None:
    app = create_app(db, client, metrics_token="scrape-secret")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as h:
        assert is_problem(await h.get("/metrics"), 401, "unauthorized")
        ok = await h.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert ok.status_code == 200 and "renewals_drafts_waiting" in ok.text


async def test_the_worker_runtime_exports_the_sdks_own_metrics(client: Client, db: Database, world: World) -> None:
    from temporalio.worker import Worker

    from workers.metrics import temporal_runtime_with_prometheus
    from workflows.approval import ApprovalWorkflow

    port = closed_port()
    probe = await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        runtime=temporal_runtime_with_prometheus(f"127.0.0.1:{port}"),
        data_converter=client.data_converter,
    )
    queue = f"metrics-probe-{uuid.uuid4().hex[:6]}"
    d = await factories.draft(db, world.b)
    async with Worker(probe, task_queue=queue, workflows=[ApprovalWorkflow]):
        handle = await probe.start_workflow(
            ApprovalWorkflow.run,
            ApprovalInput(tenant_id=d.tenant_id, draft_id=d.id, customer_id=d.customer_id, run_date=d.run_date),
            id=d.workflow_id,
            task_queue=queue,
        )

        async def first_task_done() -> bool:
            return (await handle.describe()).raw_description.workflow_execution_info.history_length >= 3

        await eventually(first_task_done, timeout=20)
        async with httpx.AsyncClient() as h:
            text = (await h.get(f"http://127.0.0.1:{port}/metrics")).text
        await handle.terminate(reason="test over")
    # What deploy/prometheus/alerts.yml's worker backlog rule reads, labelled by task queue.
    assert "temporal_workflow_task_schedule_to_start_latency_bucket" in text and f'task_queue="{queue}"' in text
    assert "temporal_request" in text
    with pytest.raises(ValueError, match="host:port"):
        temporal_runtime_with_prometheus("9464")
