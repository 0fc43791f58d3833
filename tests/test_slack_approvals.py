"""Approving from Slack through the real API over HTTP: requests signed with the tenant's signing secret by
slack-sdk's own signer pass slack-sdk's SignatureVerifier and reach the draft's real workflow as the mapped
operator, audited under that operator's name; forged, stale, and unmapped-user requests are refused and decide
nothing."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from temporalio.client import Client

from core.review import SEND, SKIP, draft_review_blocks
from core.secrets import encrypt
from db import slack, tenants
from db.pool import Database
from sandbox.server import SandboxHandle
from tests import factories
from tests.conftest import create_tenant, eventually, record_history
from workers.stack import SmtpSink

pytestmark = pytest.mark.usefixtures("workers")
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def signed(secret: str, user: str, action_id: str, draft_id: str, *, age_s: int = 0) -> tuple[str, dict[str, str]]:
    payload = {"type": "block_actions", "user": {"id": user}, "actions": [{"action_id": action_id, "value": draft_id}]}
    body = urlencode({"payload": json.dumps(payload)})
    ts = str(int(time.time()) - age_s)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return body, headers


async def test_signed_presses_decide_as_the_mapped_operator_and_forged_ones_nothing(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, api_url: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set undo_window_seconds = 0")
    to_send, to_skip = [await factories.waiting_draft(db, client, tid) for _ in range(2)]
    admin = await factories.token(db, tid, "admin", "admin")
    await factories.token(db, tid, "operator", "ana")
    url = f"/v1/slack/interactivity/{tid}"
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as h:
        body, headers = signed(SECRET, "UANA", SEND, to_send.id)
        assert (await h.post(url, content=body, headers=headers)).status_code == 404  # not set up yet
        auth = {"Authorization": f"Bearer {admin}"}
        assert (
            await h.put("/v1/slack/signing-secret", json={"signing_secret": SECRET}, headers=auth)
        ).status_code == 204
        r = await h.put("/v1/slack/operators", json={"slack_user_id": "UANA", "operator": "ana"}, headers=auth)
        assert r.status_code == 200, r.text
        await h.put("/v1/slack/operators", json={"slack_user_id": "UGONE", "operator": "nobody"}, headers=auth)

        forged_body, forged = signed("not-the-tenants-secret", "UANA", SEND, to_send.id)
        assert (await h.post(url, content=forged_body, headers=forged)).status_code == 401
        stale_body, stale = signed(SECRET, "UANA", SEND, to_send.id, age_s=600)  # a replayed old request
        assert (await h.post(url, content=stale_body, headers=stale)).status_code == 401
        tampered, _ = signed(SECRET, "UANA", SEND, to_skip.id)  # the body for another draft, the first's signature
        assert tampered != body
        assert (await h.post(url, content=tampered, headers=headers)).status_code == 401
        stranger_body, stranger = signed(SECRET, "USTRANGER", SEND, to_send.id)
        assert (await h.post(url, content=stranger_body, headers=stranger)).status_code == 403
        orphan_body, orphan = signed(SECRET, "UGONE", SEND, to_send.id)  # mapped, but "nobody" has no token
        assert (await h.post(url, content=orphan_body, headers=orphan)).status_code == 403
        async with db.tenant(tid) as conn:
            assert await conn.fetchval("select count(*) from drafts where status = 'pending'") == 2

        r = await h.post(url, content=body, headers=headers)
        assert (r.status_code, r.json()["text"]) == (200, "sending by ana"), r.text
        body, headers = signed(SECRET, "UANA", SKIP, to_skip.id)
        r = await h.post(url, content=body, headers=headers)
        assert (r.status_code, r.json()["text"]) == (200, "skipped by ana"), r.text

    async def settled() -> bool:
        async with db.tenant(tid) as conn:
            rows = await conn.fetch("select id, status from drafts")
        return {r["id"]: r["status"] for r in rows} == {to_send.id: "sent", to_skip.id: "skipped"}

    await eventually(settled)
    async with db.tenant(tid) as conn:
        audit = await conn.fetch("select actor, action, subject from audit_log where action like 'draft.%' order by id")
        refused = await conn.fetchval("select count(*) from audit_log where action = 'slack.refused'")
    assert {(r["actor"], r["action"]) for r in audit} == {
        ("ana", "draft.send_requested"),
        ("ana", "draft.sent"),
        ("ana", "draft.skipped"),
    }
    assert refused == 2


def test_the_review_message_has_send_skip_and_open_buttons_and_escapes_names() -> None:
    blocks = draft_review_blocks("d1", "<!channel> & Co", "at_risk", "HIGH", "About <renewal>", "https://x/inbox")
    assert "&lt;!channel&gt; &amp; Co" in blocks[0]["text"]["text"]
    buttons = blocks[1]["elements"]
    assert [b["action_id"] for b in buttons] == [SEND, SKIP, "draft.open"]
    assert [b.get("value") for b in buttons[:2]] == ["d1", "d1"] and buttons[2]["url"] == "https://x/inbox"


async def test_each_waiting_draft_is_posted_once_and_its_message_follows_every_decision(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, api_url: str, sandbox: SandboxHandle
) -> None:
    """The review message against the Slack sandbox: posted once per draft by the worker; its Send button goes
    through the same Update as the page; a skip or an undo made in the inbox (the API) edits the message."""
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set undo_window_seconds = 0")
        await tenants.put_connector(
            conn, tid, "slack", encrypt(secret_key, sandbox.keys["slack"]), {"api_base": sandbox.slack_base_url}
        )
    admin = await factories.token(db, tid, "admin", "admin")
    ana = await factories.token(db, tid, "operator", "ana")
    async with httpx.AsyncClient(base_url=api_url, timeout=60, headers={"Authorization": f"Bearer {admin}"}) as h:
        r = await h.put("/v1/slack/review-channel", json={"channel": "#fde", "inbox_base_url": "https://rm.example"})
        assert r.status_code == 200, r.text
        assert (await h.get("/v1/slack/review-channel")).json()["channel"] == "#fde"
        await h.put("/v1/slack/signing-secret", json={"signing_secret": SECRET})
        await h.put("/v1/slack/operators", json={"slack_user_id": "UANA", "operator": "ana"})
    drafts = [await factories.draft(db, tid) for _ in range(3)]
    for d in drafts:
        await factories.start_approval(client, d, review_in_slack=True)
    by_slack, by_page, undone = drafts

    def message(d: factories.Draft) -> dict[str, Any] | None:
        mine = [p for p in sandbox.posted_messages() if f"{tid}/review/{d.id}" in json.dumps(p["message"])]
        assert len(mine) <= 1, f"{d.id} posted {len(mine)} times"
        return mine[0] if mine else None

    def buttons(d: factories.Draft) -> list[str]:
        msg = message(d) or {}
        return [e["action_id"] for b in msg.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]

    async def posted() -> bool:
        return all(message(d) is not None for d in drafts)

    await eventually(posted)
    assert buttons(by_slack) == [SEND, SKIP, "draft.open"]
    assert "https://rm.example/app/renewal_hunter/inbox#draft=" in json.dumps(message(by_slack))

    async with httpx.AsyncClient(base_url=api_url, timeout=60) as h:
        body, headers = signed(SECRET, "UANA", SEND, by_slack.id)  # the message's own button
        r = await h.post(f"/v1/slack/interactivity/{tid}", content=body, headers=headers)
        assert (r.status_code, r.json()["text"]) == (200, "sending by ana"), r.text
        h.headers["Authorization"] = f"Bearer {ana}"
        r = await h.post(f"/v1/drafts/{by_page.id}/skip", json={"reason": "renewing anyway"})
        assert r.status_code == 200, r.text
        async with db.tenant(tid) as conn:
            await conn.execute("update tenant_settings set undo_window_seconds = 60")
        assert (await h.post(f"/v1/drafts/{undone.id}/send")).status_code == 200
        assert (await h.post(f"/v1/drafts/{undone.id}/undo")).status_code == 200

    def says(d: factories.Draft, text: str) -> bool:
        return text in json.dumps((message(d) or {}).get("blocks"))

    async def followed() -> bool:
        return says(by_slack, "Sent by ana") and says(by_page, "Skipped by ana") and says(undone, "Send undone by ana")

    await eventually(followed)
    assert buttons(by_slack) == buttons(by_page) == ["draft.open"]  # decided: nothing left to press
    assert buttons(undone) == [SEND, SKIP, "draft.open"]  # waiting again
    assert all(message(d) is not None for d in drafts)  # still one message each
    async with db.tenant(tid) as conn:
        assert await conn.fetchval("select count(*) from audit_log where action = 'draft.review_posted'") == 3
    await client.get_workflow_handle(by_slack.workflow_id).result()
    await record_history(client, by_slack.workflow_id, "approval_slack_review_sent")
    await record_history(client, undone.workflow_id, "approval_slack_review_undone_waiting")


async def test_no_review_channel_posts_nothing(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, sandbox: SandboxHandle
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:
        await tenants.put_connector(
            conn, tid, "slack", encrypt(secret_key, sandbox.keys["slack"]), {"api_base": sandbox.slack_base_url}
        )
    d = await factories.draft(db, tid)
    handle = await factories.start_approval(client, d, review_in_slack=True)  # turned off since the scan started it

    async def history_has_the_post_attempt() -> bool:
        events = [e async for e in handle.fetch_history_events()]
        return any(e.HasField("activity_task_completed_event_attributes") for e in events)

    await eventually(history_has_the_post_attempt)
    async with db.tenant(tid) as conn:
        assert await conn.fetchval("select count(*) from draft_review_posts") == 0
    assert not [p for p in sandbox.posted_messages() if tid in json.dumps(p["message"])]


async def test_slack_down_holds_up_no_delivery(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    client: Client,
    api_url: str,
    sandbox: SandboxHandle,
    smtp: SmtpSink,
) -> None:
    """The post retries in the background: a Send decided meanwhile is delivered on time."""
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set undo_window_seconds = 0")
        await tenants.put_connector(
            conn, tid, "slack", encrypt(secret_key, sandbox.keys["slack"]), {"api_base": sandbox.slack_base_url}
        )
        await slack.put_review_channel(conn, tid, "#fde", "https://rm.example")
    token = await factories.token(db, tid, "operator", "ana")
    sandbox.add_fault("slack", "/chat.postMessage", 503, times=None)  # down until reset
    try:
        d = await factories.draft(db, tid)
        await factories.start_approval(client, d, review_in_slack=True)
        async with httpx.AsyncClient(base_url=api_url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as h:
            assert (await h.post(f"/v1/drafts/{d.id}/send")).status_code == 200

        async def delivered() -> bool:
            return any(m["X-Renewals-Draft"] == d.id for m in smtp.messages)

        await eventually(delivered, timeout=20)
        assert sandbox.request_counts("slack").get("POST /chat.postMessage", 0) >= 1  # it was trying meanwhile
        assert not [p for p in sandbox.posted_messages() if tid in json.dumps(p["message"])]
    finally:
        sandbox.reset()
