"""The inbox: drafts waiting for an operator, with their evidence and delivery state (decisions: api/decisions.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, ValidationError

from api import alerts
from api.customers import DiaryEntry, diary_entry
from api.deps import DbDep, OperatorDep
from api.errors import NotFound, Unauthorized, responses
from api.overrides import OverrideState, beside_draft
from core import citations
from core.decisions import content_version
from db import customers, drafts, scans
from db import settings as tenant_settings
from schemas.changes import RunChanges
from schemas.evidence import EvidenceItem
from schemas.verdict import FactorBreakdown

router = APIRouter(prefix="/v1/drafts", tags=["drafts"])
Status = Literal["pending", "sending", "sent", "skipped", "delivery_failed", "delivery_uncertain"]


class DraftSummary(BaseModel):
    id: str
    customer_id: str
    customer_name: str
    run_date: str
    kind: str
    classification: str
    severity: str
    route: str
    arr_usd: float
    subject: str
    status: Status = Field(
        description="pending → sending (decided; undoable until undo_until) → sent, or delivery_failed (nothing went "
        "out: Send again or Skip) or delivery_uncertain (see delivery_note; POST .../resolve)"
    )
    content_version: str = Field(description="names this subject and body; a send may name the version it saw")
    undo_until: dt.datetime | None = Field(None, description="while sending: the send can be undone until then")
    delivery_note: str | None = Field(None, description="what to do about a failed or uncertain delivery")


class Alert(BaseModel):
    kind: Literal["validation_failure_rate", "route_mix_drift"]
    message: str


class DraftList(BaseModel):
    items: list[DraftSummary]
    total: int = Field(description="drafts matching the filters, across all pages")
    limit: int
    offset: int
    validation_failure_rate_24h: float
    route_mix: dict[str, float] = Field(default_factory=dict, description="the latest completed scan's route mix")
    route_mix_drift: list[str] = Field(default_factory=list, description="tiers outside their target band")
    banner: str | None = Field(
        None,
        description="set when on-call should look: more than 5 % of the last day's "
        "verdicts failed validation, or the route mix left its bands",
    )
    alerts: list[Alert] = Field(default_factory=list)


class Factors(FactorBreakdown):
    notes: list[str] = Field(default_factory=list, description="what validation demoted or dropped, and why")


class Reference(BaseModel):
    token: str = Field(description="what to write in an edit, e.g. {{fact:stripe:in_1Q…#days_late}}")
    label: str
    rendered: str = Field(description="what the customer reads in its place")


class DraftDetail(DraftSummary):
    to_email: str
    body: str = Field(description="the text the customer receives (rendered)")
    template_subject: str | None = Field(
        None, description="the subject as written, with references; null for drafts made before templates"
    )
    template_body: str | None = Field(None, description="the body as written, with references")
    quotes_customer: bool = Field(False, description="quotes customer-authored text: never auto-sent")
    references: list[Reference] = Field(
        default_factory=list, description="facts of the anchored evidence and offers an edit may insert"
    )
    anchors: list[str]
    evidence: list[EvidenceItem]
    missing_sources: dict[str, str] = Field(default_factory=dict, description="source -> why it is missing")
    factors: Factors | None = Field(
        description="each factor's score, weight and contribution; the total; the factor that pushed it across"
    )
    abstain_reason: str | None = None
    diary_entry: DiaryEntry | None = Field(description="this run's paragraph")
    previous_diary_entry: DiaryEntry | None = Field(description="the run before's, to read side by side")
    diary: list[DiaryEntry] = Field(description="newest first, at most five runs")
    changes: RunChanges | None = Field(None, description="this run against the customer's run before it")
    override: OverrideState | None = Field(None, description="the operator's override beside the scan's verdict")


def _summary(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "customer_id": r["customer_id"],
        "customer_name": r["customer_name"],
        "run_date": r["run_date"].isoformat(),
        "kind": r["kind"],
        "classification": r["classification"],
        "severity": r["severity"],
        "route": r["route"],
        "arr_usd": r["arr_cents"] / 100,
        "subject": r["subject"],
        "status": r["status"],
        "content_version": content_version(r["subject"], r["body"]),
        "undo_until": r["undo_until"],
        "delivery_note": r["delivery_note"],
    }


def _cents(usd: float | None) -> int | None:
    return None if usd is None else round(usd * 100)


@router.get("", response_model=DraftList, responses=responses(Unauthorized))
async def list_drafts(
    op: OperatorDep,
    db: DbDep,
    status: Status = "pending",
    classification: Literal["expansion", "standard", "at_risk", "likely_churn"] | None = None,
    severity: Literal["LOW", "MEDIUM", "HIGH"] | None = None,
    route: Literal["TIER1", "TIER2", "TIER3"] | None = None,
    min_arr_usd: float | None = Query(None, ge=0, le=1e9),
    max_arr_usd: float | None = Query(None, ge=0, le=1e9),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> DraftList:
    """The inbox, HIGH severity and the largest accounts first, with the alerts on-call watches."""
    filters: dict[str, Any] = {
        "classification": classification,
        "severity": severity,
        "route": route,
        "min_arr_cents": _cents(min_arr_usd),
        "max_arr_cents": _cents(max_arr_usd),
    }
    async with db.tenant(op.tenant_id) as conn:
        rows = await drafts.list_drafts(conn, op.tenant_id, status, limit, offset, **filters)
        total = rows[0]["total"] if rows else await drafts.count_drafts(conn, op.tenant_id, status, **filters)
        reading = await alerts.read(conn)
    found = [Alert(kind=kind, message=text) for kind, text in reading.banners.items()]  # type: ignore[arg-type]
    return DraftList(
        items=[DraftSummary(**_summary(r)) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
        validation_failure_rate_24h=round(reading.validation_failure_rate, 4),
        route_mix={k: round(v, 3) for k, v in reading.route_mix.items()},
        route_mix_drift=reading.route_mix_drift,
        banner=" · ".join(reading.banners.values()) or None,
        alerts=found,
    )


def _factors(raw: Any) -> Factors | None:
    try:
        return Factors.model_validate(raw)
    except ValidationError:  # a verdict recorded without the factor math (an abstention written by hand)
        return None


def stale_marked(items: list[EvidenceItem], factors: Factors | None) -> list[EvidenceItem]:
    """The evidence as the verdict saw it: the items past their source's freshness limit marked stale."""
    stale = set(factors.stale) if factors else set()
    return [i.model_copy(update={"stale": True}) if i.source_id in stale else i for i in items]


@router.get("/{draft_id}", response_model=DraftDetail, responses=responses(Unauthorized, NotFound))
async def get_draft(draft_id: str, op: OperatorDep, db: DbDep) -> DraftDetail:
    """A draft with its evidence, the factor math of its verdict, and this run's diary beside the previous one."""
    async with db.tenant(op.tenant_id) as conn:
        row = await drafts.draft_detail(conn, draft_id)
        if row is None:
            raise NotFound(f"draft {draft_id} not found")
        bundle = (await scans.load_bundles(conn, op.tenant_id, row["run_date"], [row["customer_id"]]))[
            row["customer_id"]
        ]
        entries = [diary_entry(r) for r in await customers.diary(conn, row["customer_id"], limit=5)]
        settings = await tenant_settings.email_settings(conn)
        changed, override = await beside_draft(conn, row["customer_id"], row["run_date"])
    run = row["run_date"].isoformat()
    ctx = citations.context(bundle, row["customer_name"], row["classification"], settings=settings, route=row["route"])
    return DraftDetail(
        **_summary(row),
        to_email=row["to_email"],
        body=row["body"],
        template_subject=row["template_subject"],
        template_body=row["template_body"],
        quotes_customer=row["quotes_customer"],
        references=[Reference(**r) for r in citations.references(list(row["anchors"]), ctx)],
        anchors=list(row["anchors"]),
        evidence=stale_marked(bundle.items, factors := _factors(row["factors"])),
        missing_sources=bundle.missing,
        factors=factors,
        abstain_reason=row["abstain_reason"],
        diary_entry=next((e for e in entries if e.run_date == run), None),
        previous_diary_entry=next((e for e in entries if e.run_date < run), None),
        diary=entries,
        changes=changed,
        override=override,
    )
