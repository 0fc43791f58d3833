"""Vendor webhooks, one endpoint per tenant and vendor (issue #14): Slack Events API `message` events and Stripe
`invoice.*` / `customer.subscription.*` events keep the tenant's evidence current between scans.

Each request is verified with the vendor SDK's own verifier over the raw body (slack-sdk's SignatureVerifier, with
its five-minute timestamp window; stripe.Webhook.construct_event, with its 300 s tolerance), then stored once by
event ID: a redelivery or a replayed request inside the window is answered 200 and changes nothing. Events may
arrive in any order (a kept invoice changes only for a newer copy), and one that never arrives is healed by the
next incremental read (connectors/slack.due_for_read, activities.scan.sync_invoices).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import stripe
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.decisions import NO_NUL
from api.deps import AdminDep, DbDep, secret_key
from api.errors import BadRequest, Forbidden, NotFound, Unauthorized, Unavailable, responses
from api.slack import verified_body
from core.secrets import decrypt, encrypt
from core.webhook_events import slack_change, stripe_invoice
from db import sources, tenants

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class StripeSecret(BaseModel):
    signing_secret: str = Field(
        min_length=8, max_length=200, pattern=NO_NUL, description="the endpoint's signing secret, whsec_…"
    )


@router.put("/stripe/signing-secret", status_code=204, responses=responses(Unauthorized, Forbidden, Unavailable))
async def put_stripe_secret(body: StripeSecret, op: AdminDep, db: DbDep, request: Request) -> None:
    """Store the Stripe webhook endpoint's signing secret (encrypted, like connector secrets). Point the endpoint
    at `/v1/webhooks/{tenant}/stripe` with the `invoice.*` and `customer.subscription.*` events. (Slack's events
    are signed with the Slack app's signing secret: PUT /v1/slack/signing-secret.)"""
    sealed = encrypt(secret_key(request), body.signing_secret)
    async with db.tenant(op.tenant_id) as conn:
        await sources.put_stripe_secret(conn, op.tenant_id, sealed)
        await tenants.audit(conn, op.tenant_id, op.name, "webhooks.stripe_secret_set", None, {})


@router.post(
    "/{tenant_id}/slack",
    responses=responses(BadRequest, Unauthorized, NotFound, Unavailable),
    summary="Slack's Events API calls this (message events of the channels the app is in)",
)
async def slack_events(tenant_id: str, request: Request, db: DbDep) -> dict[str, Any]:
    raw = await verified_body(
        request, db, tenant_id, "Slack is not set up for this tenant: PUT /v1/slack/signing-secret first"
    )
    try:
        payload = json.loads(raw)
        kind = payload["type"]
    except (KeyError, TypeError, ValueError) as e:
        raise BadRequest("not a Slack Events API payload") from e
    if kind == "url_verification":
        async with db.tenant(tenant_id) as conn:
            await _events_flow(conn, tenant_id)
        return {"challenge": str(payload.get("challenge", ""))}
    if kind != "event_callback" or not isinstance(payload.get("event_id"), str):
        return {"ok": True}  # app_rate_limited and the like: nothing to keep
    event = payload.get("event") or {}
    async with db.tenant(tenant_id) as conn:
        new = await sources.record_event(conn, tenant_id, "slack", payload["event_id"], str(event.get("type")), payload)
        change = slack_change(event) if new else None
        if change is not None and change.action == "keep" and change.message is not None:
            await sources.put_messages(conn, tenant_id, change.channel, [change.message])
        elif change is not None and change.action == "reply":
            await sources.count_reply(conn, change.channel, change.ts)
        elif change is not None and change.action == "delete":
            await sources.delete_message(conn, change.channel, change.ts)
        if new:
            await _events_flow(conn, tenant_id)
    return {"ok": True, "duplicate": not new}


async def _events_flow(conn: Any, tenant_id: str) -> None:
    """Slack's events reach this tenant: from now on its scans read each channel only on its sweep day."""
    if await sources.cursor(conn, sources.SLACK_EVENTS) is None:
        await sources.set_cursor(
            conn, tenant_id, sources.SLACK_EVENTS, str(int(time.time())), dt.datetime.now(dt.UTC).date()
        )


@router.post(
    "/{tenant_id}/stripe",
    responses=responses(BadRequest, Unauthorized, NotFound, Unavailable),
    summary="Stripe calls this (invoice.* and customer.subscription.* events)",
)
async def stripe_events(tenant_id: str, request: Request, db: DbDep) -> dict[str, Any]:
    raw = await request.body()
    async with db.tenant(tenant_id) as conn:
        sealed = await sources.stripe_secret(conn)
    if sealed is None:
        raise NotFound("Stripe webhooks are not set up for this tenant: PUT /v1/webhooks/stripe/signing-secret first")
    try:
        secret = decrypt(secret_key(request), sealed)
        stripe.Webhook.construct_event(raw, request.headers.get("stripe-signature", ""), secret)
    except stripe.SignatureVerificationError as e:
        raise Unauthorized("not signed with this tenant's Stripe webhook secret (or older than five minutes)") from e
    except ValueError as e:
        raise BadRequest("not a Stripe event") from e
    event = json.loads(raw)
    if not isinstance(event.get("id"), str):
        raise BadRequest("a Stripe event without an id")
    async with db.tenant(tenant_id) as conn:
        new = await sources.record_event(conn, tenant_id, "stripe", event["id"], str(event.get("type")), event)
        # Subscriptions are re-read whole by every scan's customer sync; their events are kept for the record.
        if new and (found := stripe_invoice(event)) is not None:
            await sources.put_invoices(conn, tenant_id, [found[0]], found[1])
    return {"ok": True, "duplicate": not new}
