"""Dependencies: the database, the Temporal client, and the operator a Bearer token speaks for."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from pydantic import AfterValidator
from temporalio.client import Client

from api.errors import Forbidden, Unauthorized, Unavailable
from core.clock import check_day, check_time
from db import tenants
from db.pool import Database


@dataclass(frozen=True)
class Operator:
    tenant_id: str
    role: str
    name: str


# The dependencies are `async def` even when they await nothing: FastAPI runs a plain `def` dependency in its thread
# pool, a thread hop per dependency per request (issue 17: a few per cent of the API's CPU per inbox request).
async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db  # put there by the app's lifespan (Starlette's state is untyped)
    return db


async def get_temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise Unavailable("this API was started without a Temporal client; it cannot reach workflows")
    return client


def secret_key(request: Request) -> str:
    """The Fernet key stored secrets (connector keys, signing secrets) are sealed with; 503 when the API has none."""
    key: str | None = getattr(request.app.state, "secret_key", None)
    if not key:
        raise Unavailable(
            "this API was started without RENEWALS_SECRET_KEY, so it cannot store or read secrets: "
            "start it with the key the workers use"
        )
    return key


async def get_operator(request: Request, db: Annotated[Database, Depends(get_db)]) -> Operator:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send `Authorization: Bearer <token>`; create one with `renewals token create`")
    async with db.connection() as conn:
        row = await tenants.lookup_token(conn, token.strip())
    if row is None:
        raise Unauthorized("this token is unknown, expired or revoked")
    return Operator(tenant_id=row["tenant_id"], role=row["role"], name=row["name"])


async def get_admin(op: Annotated[Operator, Depends(get_operator)]) -> Operator:
    if op.role != "admin":
        raise Forbidden("this needs an admin token")
    return op


DbDep = Annotated[Database, Depends(get_db)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
OperatorDep = Annotated[Operator, Depends(get_operator)]
AdminDep = Annotated[Operator, Depends(get_admin)]
# A date or time a person gives: 422 outside core.clock's window around today, with the window stated.
Day = Annotated[dt.date, AfterValidator(check_day)]
Moment = Annotated[dt.datetime, AfterValidator(check_time)]
