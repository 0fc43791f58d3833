"""Setup for admins: connect sources (a Stripe key is checked with one read call before it is stored, encrypted),
see each connector's status and last error, and manage API tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.deps import AdminDep, DbDep, TemporalDep, secret_key
from api.errors import Conflict, Forbidden, NotFound, Unauthorized, Unavailable, Unprocessable, responses
from core.egress import url_allowed as api_base_allowed
from core.freshness import limits_of
from core.renewal import RenewalRule, RenewalSource
from core.secrets import encrypt
from core.vendor_errors import VENDOR_UNAVAILABLE
from db import profiles as weight_versions
from db import tenants
from schemas import ids, queues
from schemas.connectors import CHECK_FAILED, DSN_REFUSED, ConnectorCheck
from workflows.connectors import CheckConnectorWorkflow

router = APIRouter(prefix="/v1", tags=["setup"])
Kind = Literal["stripe", "hubspot", "salesforce", "slack", "usage", "anthropic", "openai", "google", "litellm"]
CHECKED = {"stripe", "hubspot", "salesforce", "slack"}  # one read before storing; the rest by their first use
CHECK_TIMEOUT = dt.timedelta(seconds=45)  # the activity's own 30 s, plus a worker's time to pick it up
NOT_CHECKED_NOTE = (
    "stored encrypted but not checked yet: validation for {kind} comes later; its first scan "
    "will show any error here (status and last_error)"
)


class ConnectorStatus(BaseModel):
    kind: str
    status: str = Field(description="connected | error (error whenever `state` is not connected)")
    state: str = Field(
        "connected",
        description="what the last attempts saw: connected | unreachable | rate_limited | credentials_rejected | "
        "rejected | error",
    )
    state_since: dt.datetime | None = Field(None, description="when the connector entered `state`")
    summary: str = Field("connected", description='for people, e.g. "unreachable since 2026-12-03 09:51 UTC"')
    last_error: str | None
    api_base: str | None
    has_secret: bool = True
    checked: bool = Field(False, description="whether the key was validated with a read call when it was stored")
    note: str | None = None
    updated_at: dt.datetime
    newest_data_on: dt.date | None = Field(
        None,
        description="the newest evidence time read from this source in the last 60 days of scans (invoice created "
        "or paid, message ts, CRM record modified, usage day); None: none yet",
    )
    freshness_days: int | None = Field(None, description="evidence older than this is stale (GET /v1/settings)")


class ConnectBody(BaseModel):
    key: str = Field(
        min_length=8, max_length=500, pattern=r"^[^\x00]+$", description="restricted read-only key or token"
    )
    api_base: str | None = Field(
        None, max_length=500, pattern=r"^https?://[^\s\x00]+$", description="only to point at a sandbox or a proxy"
    )
    ca_file: str | None = Field(
        None,
        max_length=500,
        pattern=r"^[^\x00]+$",
        description="a CA bundle on the worker's disk to trust, for "
        "a proxy or sandbox with a private CA (Salesforce is always https)",
    )
    champion_field: str | None = Field(
        None,
        max_length=80,
        pattern=r"^([A-Za-z][A-Za-z0-9_]*)?$",
        description="salesforce only: the Contact checkbox that marks the champion "
        '(default Champion__c; "" if your org has none)',
    )
    left_field: str | None = Field(
        None,
        max_length=80,
        pattern=r"^([A-Za-z][A-Za-z0-9_]*)?$",
        description="salesforce only: the Contact checkbox that marks someone who left "
        '(default Left_Company__c; "" if your org has none)',
    )
    renewal_metadata_key: str | None = Field(
        None,
        max_length=40,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="stripe only: the subscription metadata key holding the contract's renewal date, for annual "
        "contracts billed monthly (default contract_end_date)",
    )
    renewal_date_order: list[RenewalSource] | None = Field(
        None,
        min_length=1,
        max_length=3,
        description="stripe only: where renewal dates come from, most trusted first "
        "(default crm, stripe_metadata, billing_period_end)",
    )
    requests_per_second: float | None = Field(
        None,
        gt=0,
        le=1000,
        description="the pace of this tenant's requests to the vendor, shared by every worker process; unset: the "
        "vendor's documented limit x 0.9 (core/pacing.py)",
    )
    slack_tier: Literal[2, 3, 4] | None = Field(
        None, description="slack only: your app's conversations.history tier (default 3, an internal app's)"
    )
    hubspot_tier: Literal["starter", "professional"] | None = Field(
        None, description="hubspot only: starter (100 requests / 10 s, the default) or professional (190 / 10 s)"
    )
    stripe_mode: Literal["live", "test"] | None = Field(
        None, description="stripe only: live (100 requests/s) or test (25/s); unset: the key's prefix says"
    )
    query: str | None = Field(
        None,
        max_length=5000,
        description="usage only: the SQL that returns daily metrics "
        "(see connectors/usage.py); the key is then the read-only DSN",
    )


def pace_config(kind: str, body: ConnectBody) -> dict[str, Any]:
    """The connector config keys core/pacing.py reads: the tenant's own pace with this vendor."""
    tier = {"slack": body.slack_tier, "hubspot": body.hubspot_tier}.get(kind)
    mode = body.stripe_mode if kind == "stripe" else None
    rps = body.requests_per_second
    return (
        ({"tier": tier} if tier else {})
        | ({"mode": mode} if mode else {})
        | ({"requests_per_second": rps} if rps else {})
    )


class TokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
    role: Literal["operator", "admin"] = "operator"
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="unset: until revoked")


class TokenCreated(BaseModel):
    token: str = Field(description="shown once; only its hash is stored")
    name: str
    role: str
    expires_at: dt.datetime | None = None


class TokenInfo(BaseModel):
    name: str
    role: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


def state_summary(state: str, since: dt.datetime | None) -> str:
    if state == "connected" or since is None:
        return state.replace("_", " ")
    return f"{state.replace('_', ' ')} since {since.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _status(r: Any) -> ConnectorStatus:
    checked = r["kind"] in CHECKED
    return ConnectorStatus(
        kind=r["kind"],
        status=r["status"],
        state=r["state"],
        state_since=r["state_since"],
        summary=state_summary(r["state"], r["state_since"]),
        last_error=r["last_error"],
        api_base=r["config"].get("api_base") or r["config"].get("base_url"),
        has_secret=r["has_secret"],
        checked=checked,
        note=None if checked else NOT_CHECKED_NOTE.format(kind=r["kind"]),
        updated_at=r["updated_at"],
    )


@router.get("/connectors", response_model=list[ConnectorStatus], responses=responses(Unauthorized, Forbidden))
async def list_connectors(op: AdminDep, db: DbDep) -> list[ConnectorStatus]:
    """Each connector's status and last error. Never the secret."""
    async with db.tenant(op.tenant_id) as conn:
        newest = await weight_versions.newest_evidence(conn, op.tenant_id)
        limits = limits_of(await weight_versions.freshness_days(conn, op.tenant_id))
        return [
            _status(r).model_copy(
                update={"newest_data_on": newest.get(r["kind"]), "freshness_days": limits.get(r["kind"])}
            )
            for r in await tenants.list_connectors(conn)
        ]


async def _check(temporal: Client, check: ConnectorCheck) -> dict[str, Any]:
    """The worker makes the read (CheckConnectorWorkflow): this process loads no vendor SDK. What the config
    should also keep, or the refusal as a problem."""
    kind = check.kind
    try:
        return await temporal.execute_workflow(
            CheckConnectorWorkflow.run,
            check,
            id=ids.connector_check(check.tenant_id, kind, uuid.uuid4().hex),
            task_queue=queues.MAIN,
            execution_timeout=CHECK_TIMEOUT,
        )
    except RPCError as e:
        raise Unavailable(f"Temporal could not be reached to check the {kind} key; nothing was stored: {e}") from e
    except WorkflowFailureError as failure:
        err = innermost(failure)
        if not isinstance(err, ApplicationError):  # timed out: no worker picked the check up
            raise Unavailable(
                f"no worker answered to check the {kind} key within {CHECK_TIMEOUT.seconds} s (is `renewals worker` "
                f"running?); nothing was stored"
            ) from failure
        # connectors.errors has already told credentials from an outage
        if err.type == VENDOR_UNAVAILABLE:
            raise Unavailable(
                f"{kind} could not be reached to check the key; nothing was stored: {err.message}"
            ) from err
        if err.type == DSN_REFUSED:
            raise Unprocessable(f"the usage DSN is refused: {err.message}; nothing was stored or contacted") from err
        if err.type == "ConnectorMisconfigured":
            raise Unprocessable(f"{err.message} Nothing was stored.") from err
        if err.type == CHECK_FAILED:  # e.g. an unreachable api_base: the admin needs to read what happened
            raise Unprocessable(
                f"the key could not be checked against {kind}, nothing was stored: {err.message}"
            ) from err
        raise Unprocessable(f"{kind} refused the key, nothing was stored: {err.message}") from err


def innermost(err: BaseException) -> BaseException:
    """The workflow's failure → the activity's failure → the ApplicationError the activity raised (not the SDK
    error it was raised from)."""
    while not isinstance(err, ApplicationError) and isinstance(cause := getattr(err, "cause", None), BaseException):
        err = cause
    return err


@router.put(
    "/connectors/{kind}",
    response_model=ConnectorStatus,
    responses=responses(Unauthorized, Forbidden, Unprocessable, Unavailable),
)
async def connect(
    kind: Kind, body: ConnectBody, op: AdminDep, db: DbDep, temporal: TemporalDep, request: Request
) -> ConnectorStatus:
    """Store a source's key, encrypted. Stripe, HubSpot, Salesforce and Slack keys are checked with one read
    before they are stored (422 when the vendor refuses them, 503 when it cannot be reached). A usage DSN is
    refused (422) when it reaches the product's own database server or a host off the allow-list: the worker
    decides, without contacting it. Usage DSNs and model vendors are not read-checked (`checked: false`)."""
    key = secret_key(request)
    hosts = getattr(request.app.state, "api_base_hosts", None)
    if body.api_base and hosts is not None and not api_base_allowed(body.api_base, hosts):
        raise Unprocessable(
            f"api_base must be https on one of {', '.join(hosts)} (RENEWALS_CONNECTOR_HOSTS adds a "
            "proxy's); nothing was stored or contacted"
        )
    if kind == "usage" and not body.query:
        raise Unprocessable("the usage connector needs `query`: the SQL returning daily metrics per customer")
    config = (
        {"query": body.query}
        if kind == "usage"
        else {"api_base": body.api_base} | ({"ca_file": body.ca_file} if body.ca_file else {})
        if kind in CHECKED
        else {"base_url": body.api_base}
        if body.api_base
        else {}
    )
    if kind == "salesforce":
        config |= {k: v for k in ("champion_field", "left_field") if (v := getattr(body, k)) is not None}
    config |= pace_config(kind, body)
    if kind == "stripe":
        config |= {k: v for k in ("renewal_metadata_key", "renewal_date_order") if (v := getattr(body, k)) is not None}
        try:
            RenewalRule.from_config(config)
        except ValueError as e:
            raise Unprocessable(f"{e}; nothing was stored") from e
    secret = encrypt(key, body.key)
    if kind in CHECKED or kind == "usage":  # usage: the worker refuses a DSN at the product's own server
        config |= await _check(
            temporal, ConnectorCheck(tenant_id=op.tenant_id, kind=kind, secret=secret, config=config)
        )
    async with db.tenant(op.tenant_id) as conn:
        await tenants.put_connector(conn, op.tenant_id, kind, secret, config)
        await tenants.audit(
            conn,
            op.tenant_id,
            op.name,
            "connector.connected",
            kind,
            {"api_base": body.api_base, "checked": kind in CHECKED},
        )
        return next(_status(r) for r in await tenants.list_connectors(conn) if r["kind"] == kind)


class ConnectorError(BaseModel):
    reference: str
    kind: str
    at: dt.datetime
    error: str = Field(description="the source's own words, e.g. the product database's error text")


@router.get(
    "/connectors/errors/{reference}",
    response_model=ConnectorError,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def connector_error(reference: str, op: AdminDep, db: DbDep) -> ConnectorError:
    """Admins only: what a source said when it failed, kept under the reference that connectors and scans show
    instead (it can quote data from wherever the source points, so operators never see it)."""
    async with db.tenant(op.tenant_id) as conn:
        row = await tenants.connector_error_detail(conn, reference)
    if row is None:
        raise NotFound(f"no connector error {reference}")
    return ConnectorError(reference=reference, kind=row["detail"]["kind"], at=row["at"], error=row["detail"]["error"])


@router.post(
    "/tokens", response_model=TokenCreated, status_code=201, responses=responses(Unauthorized, Forbidden, Conflict)
)
async def create_token(body: TokenBody, op: AdminDep, db: DbDep) -> TokenCreated:
    """A new token for this tenant, shown once. Names are unique among active tokens (revocation is by name)."""
    async with db.tenant(op.tenant_id) as conn:
        if await tenants.active_token_named(conn, body.name):
            raise Conflict(f"an active token is already named {body.name}; revoke it first or pick another name")
        token = await tenants.create_token(conn, op.tenant_id, body.role, body.name, body.expires_in_days)
        expires = next(
            (
                t["expires_at"]
                for t in await tenants.list_tokens(conn)
                if t["name"] == body.name and t["revoked_at"] is None
            ),
            None,
        )
        await tenants.audit(
            conn,
            op.tenant_id,
            op.name,
            "token.created",
            body.name,
            {"role": body.role, "expires_in_days": body.expires_in_days},
        )
    return TokenCreated(token=token, name=body.name, role=body.role, expires_at=expires)


@router.get("/tokens", response_model=list[TokenInfo], responses=responses(Unauthorized, Forbidden))
async def list_tokens(op: AdminDep, db: DbDep) -> list[TokenInfo]:
    """The tenant's tokens, revoked and expired ones included; never the tokens themselves."""
    async with db.tenant(op.tenant_id) as conn:
        return [TokenInfo(**dict(r.items())) for r in await tenants.list_tokens(conn)]


@router.delete("/tokens/{name}", status_code=204, responses=responses(Unauthorized, Forbidden, NotFound))
async def revoke_token(name: str, op: AdminDep, db: DbDep) -> None:
    """Revoke the token of that name: from the next request on it answers 401."""
    async with db.tenant(op.tenant_id) as conn:
        if not await tenants.revoke_token(conn, name):
            raise NotFound(f"no active token named {name}")
        await tenants.audit(conn, op.tenant_id, op.name, "token.revoked", name)
