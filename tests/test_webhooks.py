"""Slack Events API and Stripe webhooks at their per-tenant endpoints (issue #14), through the real API on a port:
each request verified by the vendor SDK's own verifier (signed here as the vendors sign), stored once by event ID,
replay-safe and indifferent to arrival order."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import asyncpg
import httpx
from slack_sdk.signature import SignatureVerifier

from db.pool import Database
from tests import factories
from tests.conftest import create_tenant

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
STRIPE_SECRET = "whsec_test_0123456789abcdef"


def slack_signed(payload: dict[str, Any], secret: str = SLACK_SECRET, age_s: int = 0) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload)
    ts = str(int(time.time()) - age_s)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) or ""
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, "Content-Type": "application/json"}
    return body.encode(), headers


def stripe_signed(event: dict[str, Any], secret: str = STRIPE_SECRET, age_s: int = 0) -> tuple[bytes, dict[str, str]]:
    """As Stripe signs (its docs, "verify manually"): `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`."""
    body = json.dumps(event)
    t = int(time.time()) - age_s
    mac = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return body.encode(), {"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}


def message(event_id: str, ts: str, text: str, **extra: Any) -> dict[str, Any]:
    event = {"type": "message", "channel": "C0CUST0001", "user": "UCUST1", "user_team": "TCUST", "text": text}
    return {"type": "event_callback", "event_id": event_id, "event": event | {"ts": ts, "event_ts": ts} | extra}


def invoice_event(event_id: str, kind: str, status: str, created: int) -> dict[str, Any]:
    invoice = {"id": "in_hook1", "object": "invoice", "customer": "cus_hook1", "created": 1_760_000_000}
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": created,
        "data": {"object": invoice | {"status": status}},
    }


async def test_slack_events_are_verified_kept_once_and_order_free(
    owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    admin = await factories.token(db, tid, "admin", "admin")
    url = f"/v1/webhooks/{tid}/slack"
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as h:
        body, headers = slack_signed({"type": "url_verification", "challenge": "c-123"})
        assert (await h.post(url, content=body, headers=headers)).status_code == 404  # no signing secret yet
        auth = {"Authorization": f"Bearer {admin}"}
        r = await h.put("/v1/slack/signing-secret", json={"signing_secret": SLACK_SECRET}, headers=auth)
        assert r.status_code == 204
        r = await h.post(url, content=body, headers=headers)
        assert (r.status_code, r.json()) == (200, {"challenge": "c-123"})

        later, earlier = message("Ev2", "1764700200.000200", "any news?"), message("Ev1", "1764700100.000100", "hi")
        forged_body, forged = slack_signed(later, secret="not-the-tenants-secret")
        assert (await h.post(url, content=forged_body, headers=forged)).status_code == 401
        stale_body, stale = slack_signed(later, age_s=600)  # signed, but outside Slack's five-minute window
        assert (await h.post(url, content=stale_body, headers=stale)).status_code == 401
        good_body, good = slack_signed(later)
        tampered = good_body.replace(b"any news?", b"we cancel")
        assert (await h.post(url, content=tampered, headers=good)).status_code == 401

        r = await h.post(url, content=good_body, headers=good)  # the later message first: out of order
        assert r.json() == {"ok": True, "duplicate": False}
        r = await h.post(url, content=good_body, headers=good)  # a replay (or Slack's retry) inside the window
        assert r.json() == {"ok": True, "duplicate": True}
        for event in (
            earlier,
            message("Ev3", "1764700300.000300", "a reply", thread_ts="1764700200.000200"),
            message("Ev4", "1764700400.000400", "x", subtype="channel_join"),
        ):
            body, headers = slack_signed(event)
            assert (await h.post(url, content=body, headers=headers)).status_code == 200
    async with db.tenant(tid) as conn:
        kept = [
            (r["ts"], r["body"]["text"], r["body"].get("reply_count"))
            for r in await conn.fetch("select ts, body from slack_messages order by ts::numeric")
        ]
        events = await conn.fetchval("select count(*) from webhook_events where vendor = 'slack'")
        flowing = await conn.fetchval("select count(*) from source_cursors where source = 'slack_events'")
    # both top-level messages, in ts order whatever the arrival; the reply counted on its parent; the join ignored
    assert kept == [("1764700100.000100", "hi", None), ("1764700200.000200", "any news?", 1)]
    assert events == 4 and flowing == 1


async def test_stripe_events_are_verified_kept_once_and_a_late_one_changes_nothing(
    owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    admin = await factories.token(db, tid, "admin", "admin")
    url = f"/v1/webhooks/{tid}/stripe"
    now = int(time.time())
    paid = invoice_event("evt_2", "invoice.paid", "paid", now - 10)
    finalized = invoice_event("evt_1", "invoice.finalized", "open", now - 60)  # sent first, delivered last
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as h:
        body, headers = stripe_signed(paid)
        assert (await h.post(url, content=body, headers=headers)).status_code == 404  # no secret stored yet
        auth = {"Authorization": f"Bearer {admin}"}
        r = await h.put("/v1/webhooks/stripe/signing-secret", json={"signing_secret": STRIPE_SECRET}, headers=auth)
        assert r.status_code == 204
        forged_body, forged = stripe_signed(paid, secret="whsec_someone_else_entirely")
        assert (await h.post(url, content=forged_body, headers=forged)).status_code == 401
        stale_body, stale = stripe_signed(paid, age_s=600)  # outside the SDK's 300 s tolerance: a replay
        assert (await h.post(url, content=stale_body, headers=stale)).status_code == 401
        assert (await h.post(url, content=body.replace(b"paid", b"void"), headers=headers)).status_code == 401

        assert (await h.post(url, content=body, headers=headers)).json() == {"ok": True, "duplicate": False}
        assert (await h.post(url, content=body, headers=headers)).json() == {"ok": True, "duplicate": True}
        body, headers = stripe_signed(finalized)
        assert (await h.post(url, content=body, headers=headers)).json() == {"ok": True, "duplicate": False}
        sub = {
            "id": "evt_3",
            "object": "event",
            "type": "customer.subscription.updated",
            "created": now,
            "data": {"object": {"id": "sub_1", "object": "subscription"}},
        }
        body, headers = stripe_signed(sub)
        assert (await h.post(url, content=body, headers=headers)).json() == {"ok": True, "duplicate": False}
    async with db.tenant(tid) as conn:
        invoice = await conn.fetchrow("select status, body, seen_at from stripe_invoices where invoice_id = 'in_hook1'")
        events = await conn.fetch("select event_id, type from webhook_events where vendor = 'stripe' order by event_id")
    assert (invoice["status"], invoice["body"]["status"], invoice["seen_at"]) == ("paid", "paid", now - 10)
    assert [tuple(e) for e in events] == [
        ("evt_1", "invoice.finalized"),
        ("evt_2", "invoice.paid"),
        ("evt_3", "customer.subscription.updated"),
    ]
