"""Approving from Slack: the review message's Send and Skip buttons call back here. The request must carry Slack's
signature with the tenant's signing secret (slack-sdk's SignatureVerifier), and the Slack user must be mapped to
an operator with a live token; the decision then goes through the same Update as a click in the inbox page,
audited under that operator's name."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from slack_sdk.signature import SignatureVerifier

from api.decisions import NO_NUL, send_draft, skip_draft
from api.deps import AdminDep, DbDep, TemporalDep, secret_key
from api.errors import BadRequest, Forbidden, NotFound, Unauthorized, Unavailable, responses
from core.ownership import claimed_text, is_claim, parse_claim
from core.review import SEND, SKIP
from core.secrets import decrypt, encrypt
from db import claims, customers, slack, tenants
from db.pool import Database

router = APIRouter(prefix="/v1/slack", tags=["slack"])


class SigningSecret(BaseModel):
    signing_secret: str = Field(min_length=8, max_length=200, pattern=NO_NUL, description="the Slack app's")


class Mapping(BaseModel):
    slack_user_id: str = Field(pattern=r"^[UW][A-Z0-9]{2,30}$", description="e.g. U024BE7LH")
    operator: str = Field(min_length=1, max_length=100, pattern=NO_NUL, description="an operator token's name")


class ReviewChannel(BaseModel):
    channel: str | None = Field(
        None,
        min_length=1,
        max_length=80,
        pattern=NO_NUL,
        description="where each waiting draft is posted with Send / Skip / Open in inbox, e.g. #renewals-review; "
        "null turns the messages off",
    )
    inbox_base_url: str | None = Field(
        None,
        max_length=300,
        pattern=r"^https?://\S+$",
        description="the address operators open the inbox at; defaults to the address this request came to",
    )


async def verified_body(request: Request, db: Database, tenant_id: str, not_set_up: str) -> bytes:
    """The raw body of a request Slack signed with this tenant's signing secret, checked by slack-sdk's verifier
    (which also refuses a timestamp older than five minutes). 404 `not_set_up` when the tenant has no secret, 401
    when the signature does not match. Shared by the interactivity endpoint and the Events API webhook."""
    raw = await request.body()
    async with db.tenant(tenant_id) as conn:
        sealed = await slack.signing_secret(conn)
    if sealed is None:
        raise NotFound(not_set_up)
    verifier = SignatureVerifier(decrypt(secret_key(request), sealed))
    if not verifier.is_valid(
        body=raw.decode("utf-8", "replace"),
        timestamp=request.headers.get("x-slack-request-timestamp", ""),
        signature=request.headers.get("x-slack-signature", ""),
    ):
        raise Unauthorized("not signed with this tenant's Slack signing secret (or older than five minutes)")
    return raw


@router.put("/signing-secret", status_code=204, responses=responses(Unauthorized, Forbidden, Unavailable))
async def put_signing_secret(body: SigningSecret, op: AdminDep, db: DbDep, request: Request) -> None:
    """Store the Slack app's signing secret (encrypted, like connector secrets). Point the app's Interactivity
    Request URL at `/v1/slack/interactivity/{tenant}`."""
    sealed = encrypt(secret_key(request), body.signing_secret)
    async with db.tenant(op.tenant_id) as conn:
        await slack.put_signing_secret(conn, op.tenant_id, sealed)
        await tenants.audit(conn, op.tenant_id, op.name, "slack.signing_secret_set", None, {})


@router.put("/review-channel", response_model=ReviewChannel, responses=responses(Unauthorized, Forbidden))
async def put_review_channel(body: ReviewChannel, op: AdminDep, db: DbDep, request: Request) -> ReviewChannel:
    """Post every draft that starts waiting to this channel, once, and edit the message when the draft is decided
    (in the page, the API or Slack). Needs Slack connected and the app invited to the channel; its buttons need
    the signing secret and operator mappings below."""
    saved = ReviewChannel(
        channel=body.channel,
        inbox_base_url=(body.inbox_base_url or str(request.base_url)).rstrip("/") if body.channel else None,
    )
    async with db.tenant(op.tenant_id) as conn:
        await slack.put_review_channel(conn, op.tenant_id, saved.channel, saved.inbox_base_url)
        await tenants.audit(conn, op.tenant_id, op.name, "slack.review_channel_set", None, saved.model_dump())
    return saved


@router.get("/review-channel", response_model=ReviewChannel, responses=responses(Unauthorized, Forbidden))
async def get_review_channel(op: AdminDep, db: DbDep) -> ReviewChannel:
    async with db.tenant(op.tenant_id) as conn:
        row = await slack.review_channel(conn)
    if row is None:
        return ReviewChannel()
    return ReviewChannel(channel=row["review_channel"], inbox_base_url=row["inbox_base_url"])


@router.get("/operators", response_model=list[Mapping], responses=responses(Unauthorized, Forbidden))
async def list_mappings(op: AdminDep, db: DbDep) -> list[Mapping]:
    async with db.tenant(op.tenant_id) as conn:
        return [Mapping(slack_user_id=r["slack_user_id"], operator=r["operator"]) for r in await slack.mappings(conn)]


@router.put("/operators", response_model=Mapping, responses=responses(Unauthorized, Forbidden))
async def put_mapping(body: Mapping, op: AdminDep, db: DbDep) -> Mapping:
    """Let a Slack user decide as an operator. Only while that operator has a live token do the buttons work."""
    async with db.tenant(op.tenant_id) as conn:
        await slack.map_user(conn, op.tenant_id, body.slack_user_id, body.operator)
        await tenants.audit(conn, op.tenant_id, op.name, "slack.operator_mapped", body.slack_user_id, body.model_dump())
    return body


@router.delete("/operators/{slack_user_id}", status_code=204, responses=responses(Unauthorized, Forbidden, NotFound))
async def delete_mapping(slack_user_id: str, op: AdminDep, db: DbDep) -> None:
    async with db.tenant(op.tenant_id) as conn:
        if not await slack.unmap_user(conn, slack_user_id):
            raise NotFound(f"Slack user {slack_user_id} is not mapped")
        await tenants.audit(conn, op.tenant_id, op.name, "slack.operator_unmapped", slack_user_id, {})


@router.post(
    "/interactivity/{tenant_id}",
    responses=responses(Unauthorized, Forbidden, NotFound, Unavailable),
    summary="Slack calls this when a review message's button is pressed",
)
async def interactivity(tenant_id: str, request: Request, db: DbDep, temporal: TemporalDep) -> dict[str, Any]:
    raw = await verified_body(request, db, tenant_id, "approvals from Slack are not set up for this tenant")
    try:
        payload = json.loads(parse_qs(raw.decode())["payload"][0])
        user = str(payload["user"]["id"])
        action = payload["actions"][0]
        action_id, draft_id = str(action["action_id"]), str(action.get("value", ""))
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise BadRequest("not a Slack block_actions payload") from e
    async with db.tenant(tenant_id) as conn:
        operator = await slack.operator_for(conn, user)
        if operator is None:
            await tenants.audit(conn, tenant_id, f"slack:{user}", "slack.refused", draft_id, {"action": action_id})
    if operator is None:
        raise Forbidden(f"Slack user {user} is not mapped to an operator with a live token; ask an admin")
    if is_claim(action_id):
        return await claim_account(db, tenant_id, operator, user, str(action.get("value", "")))
    if action_id == SEND:
        result = await send_draft(temporal, db, tenant_id, operator, draft_id)
    elif action_id == SKIP:
        result = await skip_draft(temporal, db, tenant_id, operator, draft_id, f"skipped from Slack by {operator}")
    else:
        return {"response_type": "ephemeral", "text": "nothing to do"}  # e.g. Open in inbox, a plain link
    return {"response_type": "ephemeral", "text": f"{result.outcome.replace('_', ' ')} by {operator}"}


async def claim_account(db: Database, tenant_id: str, operator: str, user: str, value: str) -> dict[str, Any]:
    """A briefing's "Mine": the first claim of the day's cold account wins, and is audited; a later one is told
    whose it is."""
    try:
        day, customer_id = parse_claim(value)
    except ValueError as e:
        raise BadRequest(str(e)) from e
    async with db.tenant(tenant_id) as conn:
        name = await customers.name(conn, tenant_id, customer_id)
        if name is None:
            raise NotFound(f"no customer {customer_id}")
        owner = await claims.claim(conn, tenant_id, day, customer_id, operator, user)
        if owner == operator:
            await tenants.audit(
                conn, tenant_id, operator, "briefing.claimed", customer_id, {"day": day.isoformat(), "slack_user": user}
            )
    return {"response_type": "ephemeral", "text": claimed_text(name, operator, owner)}
