"""Approving from Slack through the real API over HTTP: requests signed with the tenant's signing secret by
slack-sdk's own signer pass slack-sdk's SignatureVerifier and reach the draft's real workflow as the mapped
operator, audited under that operator's name; forged, stale, and unmapped-user requests are refused and decide
nothing."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from temporalio.client import Client

from core.review import SEND, SKIP, draft_review_blocks
from db.pool import Database
from tests import factories
from tests.conftest import create_tenant, eventually

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
