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
from core.freshness import DEFAULT_LIMITS, limits_of
from core.model_spec import parse_spec
from core.routing import TARGET_MIX, check_target
from db import carry as carry_db
from db import claims as briefing_claims
from db import profiles as weight_versions
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
    freshness_days: dict[str, Annotated[int, Field(ge=1, le=3650)]] = Field(
        default_factory=lambda: dict(DEFAULT_LIMITS),
        description="per source, days after which its evidence is stale (a verdict resting mainly on stale "
        "evidence abstains); a source left out keeps its default",
    )
    claim_escalate_minutes: int | None = Field(
        240,
        ge=1,
        le=1440,
        description="a cold account of the daily briefing nobody claimed (Slack's Mine button) this long after the "
        "post is escalated to the on-call webhook; null: never",
    )
    carry_forward_days: int = Field(
        7,
        ge=0,
        le=30,
        description="an account whose evidence is unchanged since a model read it fewer than this many days ago keeps "
        "that verdict without a model call (no new draft); 0: every account is read every day",
    )
    tier3_arr_usd: int = Field(
        50_000, ge=0, description="accounts at or above this ARR route to TIER3 (worker, supervisor, tiebreaker)"
    )
    strong_signal: float = Field(
        0.4,
        gt=0,
        le=1,
        description="the 'moved' rule: a new evidence item with |signal| at or above this routes the account to TIER2",
    )
    batch_wait_seconds: int = Field(
        14_400,
        ge=0,
        le=86_400,
        description="how long the scan's model calls may wait in a vendor's batch API (half price) before they are "
        "cancelled and made synchronously; 0: always synchronous",
    )
    route_mix_target: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(TARGET_MIX),
        description="route -> [low, high]: the share of a scan's accounts each route is expected to take; a "
        "completed scan outside a band raises the route-mix alert. A book heavy in enterprise accounts widens TIER3's",
    )
    models: dict[Role, str] = Field(
        default_factory=dict,
        description="role -> model spec such as "
        "anthropic:claude-haiku-4-5 or offline; a role left out is answered offline",
    )

    @field_validator("freshness_days")
    @classmethod
    def _sources(cls, days: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(days) - set(DEFAULT_LIMITS))
        if unknown:
            raise ValueError(f"no such source: {', '.join(unknown)} (sources: {', '.join(DEFAULT_LIMITS)})")
        return days

    @field_validator("route_mix_target")
    @classmethod
    def _bands(cls, bands: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        return check_target(bands)

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
        freshness_days=limits_of(row["freshness_days"]),
        claim_escalate_minutes=row["claim_escalate_minutes"],
        carry_forward_days=row["carry_forward_days"],
        tier3_arr_usd=row["tier3_arr_usd"],
        strong_signal=float(row["strong_signal"]),
        batch_wait_seconds=row["batch_wait_seconds"],
        route_mix_target=await carry_db.route_mix_target(conn),
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
        await weight_versions.acting_as(conn, op.name)  # a weight change is a new version, by this operator
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
        await weight_versions.set_freshness_days(conn, op.tenant_id, body.freshness_days)
        await briefing_claims.set_escalate_after(conn, op.tenant_id, body.claim_escalate_minutes)
        await carry_db.update_cost_settings(
            conn, op.tenant_id, body.carry_forward_days, body.tier3_arr_usd, body.strong_signal
        )
        await carry_db.update_batch_wait(conn, op.tenant_id, body.batch_wait_seconds)
        await carry_db.update_route_mix_target(conn, op.tenant_id, body.route_mix_target)
        after = await _read(conn, op.tenant_id)
        now = after.model_dump()
        changed = {k: {"from": v, "to": now[k]} for k, v in before.items() if now[k] != v}
        if changed:
            await tenants.audit(conn, op.tenant_id, op.name, "settings.changed", None, changed)
    return after
