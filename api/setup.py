"""Setup for admins: connect sources (a key is checked with one read call before it is stored, encrypted),
see each connector's status and last error, and manage API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import AdminDep, DbDep
from api.errors import Forbidden, NotFound, Unauthorized, Unavailable, Unprocessable, responses
from connectors.stripe import StripeSource
from core.secrets import encrypt
from db import tenants

router = APIRouter(prefix="/v1", tags=["setup"])
Kind = Literal["stripe", "hubspot", "salesforce", "slack", "usage", "anthropic", "openai", "google", "litellm"]


class ConnectorStatus(BaseModel):
    kind: str
    status: str
    last_error: str | None
    api_base: str | None
    updated_at: dt.datetime


class ConnectBody(BaseModel):
    key: str = Field(min_length=8, max_length=500, description="restricted read-only key or token")
    api_base: str | None = Field(None, description="only to point at a sandbox or a proxy")
    query: str | None = Field(None, max_length=5000, description="usage only: the SQL that returns daily metrics "
                              "(see connectors/usage.py); the key is then the read-only DSN")


class TokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    role: Literal["operator", "admin"] = "operator"
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="unset: until revoked")


class TokenCreated(BaseModel):
    token: str = Field(description="shown once; only its hash is stored")
    name: str
    role: str


class TokenInfo(BaseModel):
    name: str
    role: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


@router.get("/connectors", response_model=list[ConnectorStatus], responses=responses(Unauthorized, Forbidden))
async def list_connectors(op: AdminDep, db: DbDep) -> list[ConnectorStatus]:
    async with db.tenant(op.tenant_id) as conn:
        rows = await conn.fetch("select kind, status, last_error, config, updated_at from connectors order by kind")
    return [ConnectorStatus(kind=r["kind"], status=r["status"], last_error=r["last_error"],
                            api_base=r["config"].get("api_base") or r["config"].get("base_url"),
                            updated_at=r["updated_at"]) for r in rows]


@router.put("/connectors/{kind}", response_model=ConnectorStatus,
            responses=responses(Unauthorized, Forbidden, Unprocessable, Unavailable))
async def connect(kind: Kind, body: ConnectBody, op: AdminDep, db: DbDep, request: Request) -> ConnectorStatus:
    """Stripe keys are checked with one read before they are stored; other sources are stored as given and
    checked by their first scan (their status then shows any error)."""
    secret_key = getattr(request.app.state, "secret_key", None)
    if not secret_key:
        raise Unavailable("this API was started without RENEWALS_SECRET_KEY; it cannot store secrets")
    if kind == "stripe":
        try:
            await StripeSource(body.key, body.api_base).check()
        except Exception as e:  # noqa: BLE001 - the vendor's answer is what the admin needs to read
            raise Unprocessable(f"stripe refused the key, nothing was stored: {getattr(e, 'message', e)}") from e
    if kind == "usage" and not body.query:
        raise Unprocessable("the usage connector needs `query`: the SQL returning daily metrics per customer")
    config = {"query": body.query} if kind == "usage" else \
        {"api_base": body.api_base} if kind in ("stripe", "hubspot", "salesforce", "slack") else \
        {"base_url": body.api_base} if body.api_base else {}
    async with db.tenant(op.tenant_id) as conn:
        await tenants.put_connector(conn, op.tenant_id, kind, encrypt(secret_key, body.key), config)
        await tenants.audit(conn, op.tenant_id, op.name, "connector.connected", kind, {"api_base": body.api_base})
    return next(c for c in await list_connectors(op, db) if c.kind == kind)


@router.post("/tokens", response_model=TokenCreated, status_code=201, responses=responses(Unauthorized, Forbidden))
async def create_token(body: TokenBody, op: AdminDep, db: DbDep) -> TokenCreated:
    async with db.tenant(op.tenant_id) as conn:
        token = await tenants.create_token(conn, op.tenant_id, body.role, body.name, body.expires_in_days)
        await tenants.audit(conn, op.tenant_id, op.name, "token.created", body.name, {"role": body.role})
    return TokenCreated(token=token, name=body.name, role=body.role)


@router.get("/tokens", response_model=list[TokenInfo], responses=responses(Unauthorized, Forbidden))
async def list_tokens(op: AdminDep, db: DbDep) -> list[TokenInfo]:
    async with db.tenant(op.tenant_id) as conn:
        rows = await conn.fetch("select name, role, created_at, expires_at, revoked_at from api_tokens "
                                "order by created_at")
    return [TokenInfo(**dict(r.items())) for r in rows]


@router.delete("/tokens/{name}", status_code=204, responses=responses(Unauthorized, Forbidden, NotFound))
async def revoke_token(name: str, op: AdminDep, db: DbDep) -> None:
    async with db.tenant(op.tenant_id) as conn:
        done = await conn.execute("update api_tokens set revoked_at = now() where name = $1 and revoked_at is null",
                                  name)
        if done.endswith(" 0"):
            raise NotFound(f"no active token named {name}")
        await tenants.audit(conn, op.tenant_id, op.name, "token.revoked", name)
