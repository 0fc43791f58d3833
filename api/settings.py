"""Tenant settings: the four factor weights, auto-send per route, the renewal window, the cost cap, the digest
recipients and the Slack channel. Admins only; every change goes to the audit log."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from api.deps import AdminDep, DbDep, OperatorDep
from api.errors import Forbidden, Unauthorized, Unprocessable, responses
from core.factors import check_weights
from db import tenants
from schemas.evidence import FACTORS

router = APIRouter(prefix="/v1/settings", tags=["settings"])
Route = Literal["TIER1", "TIER2", "TIER3"]


class Weights(BaseModel):
    payment_history: float = Field(ge=0, le=1)
    usage_trend: float = Field(ge=0, le=1)
    champion_status: float = Field(ge=0, le=1)
    support_sentiment: float = Field(ge=0, le=1)


class TenantSettings(BaseModel):
    weights: Weights
    auto_send: dict[Route, bool] = Field(default_factory=dict,
                                         description="Off by default. Enterprise accounts (>= $50K ARR) and "
                                                     "likely-churn verdicts always wait for an operator.")
    window_min_days: int = Field(14, ge=0, le=365)
    window_max_days: int = Field(90, ge=0, le=365)
    daily_cost_cap_usd: float = Field(0.05, ge=0, le=100)
    digest_recipients: list[str] = Field(default_factory=list, max_length=20)
    slack_channel: str = Field("#fde", min_length=1, max_length=80)
    oncall_webhook: str | None = Field(None, max_length=500, pattern=r"^https?://",
                                       description="told once when an alert threshold is crossed")
    models: dict[str, str] = Field(default_factory=dict, description="role (TIER1, TIER2, TIER3, SUPERVISOR, "
                                   "TIEBREAKER) -> model spec such as anthropic:claude-haiku-4-5; unset: offline")

    @model_validator(mode="after")
    def _window(self) -> TenantSettings:
        if self.window_min_days > self.window_max_days:
            raise ValueError("window_min_days must not exceed window_max_days")
        return self


async def _read(conn: object, tenant_id: str) -> TenantSettings:
    row = await tenants.get_settings(conn, tenant_id)  # type: ignore[arg-type]
    return TenantSettings(
        weights=Weights(**{f: float(row[f"w_{f}"]) for f in FACTORS}), auto_send=row["auto_send"],
        window_min_days=row["window_min_days"], window_max_days=row["window_max_days"],
        daily_cost_cap_usd=float(row["daily_cost_cap_usd"]), digest_recipients=list(row["digest_recipients"]),
        slack_channel=row["slack_channel"], models=row["models"], oncall_webhook=row["oncall_webhook"])


@router.get("", response_model=TenantSettings, responses=responses(Unauthorized))
async def get_settings(op: OperatorDep, db: DbDep) -> TenantSettings:
    async with db.tenant(op.tenant_id) as conn:
        return await _read(conn, op.tenant_id)


@router.put("", response_model=TenantSettings, responses=responses(Unauthorized, Forbidden, Unprocessable))
async def put_settings(body: TenantSettings, op: AdminDep, db: DbDep) -> TenantSettings:
    try:
        weights = check_weights(body.weights.model_dump())
    except ValueError as e:
        raise Unprocessable(str(e)) from e
    async with db.tenant(op.tenant_id) as conn:
        before = await _read(conn, op.tenant_id)
        await conn.execute("""
            update tenant_settings set w_payment_history = $2, w_usage_trend = $3, w_champion_status = $4,
                   w_support_sentiment = $5, auto_send = $6, window_min_days = $7, window_max_days = $8,
                   daily_cost_cap_usd = $9, digest_recipients = $10, slack_channel = $11, models = $12,
                   oncall_webhook = $13, updated_at = now()
             where tenant_id = $1""", op.tenant_id, *(weights[f] for f in FACTORS), body.auto_send,
                           body.window_min_days, body.window_max_days, body.daily_cost_cap_usd,
                           body.digest_recipients, body.slack_channel, body.models, body.oncall_webhook)
        after = await _read(conn, op.tenant_id)
        changed = {k: {"from": v, "to": after.model_dump()[k]} for k, v in before.model_dump().items()
                   if after.model_dump()[k] != v}
        await tenants.audit(conn, op.tenant_id, op.name, "settings.changed", None, changed)
    return after
