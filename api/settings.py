"""Tenant settings: the four factor weights, auto-send per route, the renewal window, the cost cap, the digest
recipients, the Slack channel, and what drafts carry (sender, reply-to, signature, offers). Admins only; every
change goes to the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator, model_validator

from api.deps import AdminDep, DbDep, OperatorDep
from api.errors import Forbidden, Unauthorized, Unprocessable, responses
from core.egress import url_allowed
from core.factors import check_weights
from core.model_spec import parse_spec
from db import settings as tenant_settings
from db import tenants
from schemas.evidence import FACTORS
from schemas.offers import EmailSettings

router = APIRouter(prefix="/v1/settings", tags=["settings"])
Route = Literal["TIER1", "TIER2", "TIER3"]
Role = Literal["TIER1", "TIER2", "TIER3", "SUPERVISOR", "TIEBREAKER", "HEALTH"]
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Weights(BaseModel):
    payment_history: float = Field(ge=0, le=1)
    usage_trend: float = Field(ge=0, le=1)
    champion_status: float = Field(ge=0, le=1)
    support_sentiment: float = Field(ge=0, le=1)


class TenantSettings(EmailSettings):
    weights: Weights
    auto_send: dict[Route, bool] = Field(
        default_factory=dict,
        description="Per route, off by default. Whatever this says, enterprise "
        "accounts (>= $50K ARR) and likely-churn verdicts always "
        "wait for an operator.",
    )
    window_min_days: int = Field(14, ge=0, le=365, description="renewal window: days out, nearest")
    window_max_days: int = Field(90, ge=0, le=365, description="renewal window: days out, farthest")
    daily_cost_cap_usd: float = Field(
        0.05,
        ge=0,
        le=100,
        description="model spend per customer per day; past it the customer is finished on the offline model",
    )
    digest_recipients: list[Annotated[str, Field(max_length=254, pattern=EMAIL)]] = Field(
        default_factory=list, max_length=20, description="who gets the weekly digest"
    )
    slack_channel: str = Field("#fde", min_length=1, max_length=80)
    oncall_webhook: str | None = Field(
        None, max_length=500, pattern=r"^https?://\S+$", description="told once each time an alert threshold is crossed"
    )
    undo_window_seconds: int = Field(
        10, ge=0, le=300, description="after Send, how long the send can be undone before it is delivered; 0: off"
    )
    models: dict[Role, str] = Field(
        default_factory=dict,
        description="role -> model spec such as "
        "anthropic:claude-haiku-4-5 or offline; a role left out is answered offline",
    )

    @field_validator("models")
    @classmethod
    def _specs(cls, models: dict[str, str]) -> dict[str, str]:
        for spec in models.values():
            parse_spec(spec)  # a ValueError naming the accepted forms
        return models

    @model_validator(mode="after")
    def _window(self) -> TenantSettings:
        if self.window_min_days > self.window_max_days:
            raise ValueError("window_min_days must not exceed window_max_days")
        names = [o.name for o in self.offers]
        if len(names) != len(set(names)):
            raise ValueError("offer names must be unique: a draft names an offer as {{offer:<name>}}")
        for o in self.offers:
            if o.kind == "discount" and o.maximum > 100:
                raise ValueError(f"offer {o.name}: a discount's maximum is a percent, at most 100")
        return self


async def _read(conn: asyncpg.Connection, tenant_id: str) -> TenantSettings:
    row = await tenants.get_settings(conn, tenant_id)
    return TenantSettings(
        weights=Weights(**{f: float(row[f"w_{f}"]) for f in FACTORS}),
        auto_send=row["auto_send"],
        window_min_days=row["window_min_days"],
        window_max_days=row["window_max_days"],
        daily_cost_cap_usd=float(row["daily_cost_cap_usd"]),
        digest_recipients=list(row["digest_recipients"]),
        slack_channel=row["slack_channel"],
        models=row["models"],
        oncall_webhook=row["oncall_webhook"],
        **(await tenant_settings.email_settings(conn)).model_dump(),
        undo_window_seconds=row["undo_window_seconds"],
    )


@router.get("", response_model=TenantSettings, responses=responses(Unauthorized))
async def get_settings(op: OperatorDep, db: DbDep) -> TenantSettings:
    """The tenant's settings; any operator may read them."""
    async with db.tenant(op.tenant_id) as conn:
        return await _read(conn, op.tenant_id)


@router.put("", response_model=TenantSettings, responses=responses(Unauthorized, Forbidden, Unprocessable))
async def put_settings(body: TenantSettings, op: AdminDep, db: DbDep, request: Request) -> TenantSettings:
    """Replace the settings (admins). Weights must each be in [0, 1] and sum to 1.0, else 422. Outside
    development the on-call webhook must be https on a vendor's domain or one in RENEWALS_CONNECTOR_HOSTS, as a
    connector's api_base. Every change is written to the audit log with its before and after."""
    hosts = getattr(request.app.state, "api_base_hosts", None)
    if body.oncall_webhook and hosts is not None and not url_allowed(body.oncall_webhook, hosts):
        raise Unprocessable(
            f"oncall_webhook must be https on one of {', '.join(hosts)} (RENEWALS_CONNECTOR_HOSTS adds your "
            "alerting service's host); nothing was stored"
        )
    try:
        weights = check_weights(body.weights.model_dump())
    except ValueError as e:
        raise Unprocessable(str(e)) from e
    async with db.tenant(op.tenant_id) as conn:
        before = (await _read(conn, op.tenant_id)).model_dump()
        await tenant_settings.update(
            conn,
            op.tenant_id,
            weights,
            auto_send=body.auto_send,
            window_min_days=body.window_min_days,
            window_max_days=body.window_max_days,
            daily_cost_cap_usd=body.daily_cost_cap_usd,
            digest_recipients=body.digest_recipients,
            slack_channel=body.slack_channel,
            models=dict(body.models.items()),  # stored as JSON: a role is a str key there
            oncall_webhook=body.oncall_webhook,
            undo_window_seconds=body.undo_window_seconds,
        )
        await tenant_settings.update_email(conn, op.tenant_id, EmailSettings.model_validate(body.model_dump()))
        after = await _read(conn, op.tenant_id)
        now = after.model_dump()
        changed = {k: {"from": v, "to": now[k]} for k, v in before.items() if now[k] != v}
        if changed:
            await tenants.audit(conn, op.tenant_id, op.name, "settings.changed", None, changed)
    return after
