"""Small factories for the API tests: each writes exactly the rows a test needs (a customer, its evidence, a verdict,
this run's and the previous run's diary, a draft) and can start the draft's real ApprovalWorkflow. No scan, no
sandbox: a test of the operator surface does not wait for the pipeline that feeds it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from temporalio.client import Client, WorkflowHandle

from core import citations
from core.factors import DEFAULT_WEIGHTS, breakdown
from db import tenants
from db.pool import Database
from db.scans import approval_workflow_id, draft_id
from schemas import queues, search
from schemas.evidence import EvidenceBundle, EvidenceItem
from schemas.verdict import DraftEmail
from schemas.workflow_io import ApprovalInput

RUN = dt.date(2026, 11, 22)
PREVIOUS_RUN = RUN - dt.timedelta(days=7)


@dataclass
class Draft:
    tenant_id: str
    id: str
    customer_id: str
    customer_name: str
    workflow_id: str
    run_date: dt.date
    evidence_ids: list[str]
    to_email: str
    subject: str
    body: str  # what the customer receives, rendered from the template
    template_body: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def evidence_for(customer_id: str) -> list[EvidenceItem]:
    """Two real-looking objects whose numbers the drafted email quotes."""
    return [
        EvidenceItem(
            source_id=f"stripe:in_{customer_id}_1",
            kind="invoice_paid_late",
            factor="payment_history",
            signal=-0.7,
            summary="Invoice paid 21 days late",
            facts={"days_late": 21, "amount_usd": 1200},
        ),
        EvidenceItem(
            source_id=f"usage:{customer_id}:seats",
            kind="seats_contracted",
            factor="usage_trend",
            signal=-0.6,
            summary="Active seats fell from 40 to 25",
            facts={"seats_before": 40, "seats_now": 25, "change_pct": -38},
        ),
    ]


def template_for(ids: list[str]) -> str:
    """A save email as a model writes it: prose with references to the two items."""
    return (
        f"Hello {{{{customer_name}}}} team,\n\nYour last invoice was paid {{{{fact:{ids[0]}#days_late}}}} late, and "
        f"your plan went from {{{{fact:{ids[1]}#seats_before}}}} to {{{{fact:{ids[1]}#seats_now}}}}. Could we talk "
        "before the renewal?\n\nBest regards,\n{{signature}}"
    )


async def token(
    db: Database, tenant_id: str, role: str = "operator", name: str | None = None, expires_in_days: int | None = None
) -> str:
    async with db.tenant(tenant_id) as conn:
        return await tenants.create_token(
            conn, tenant_id, role, name or f"{role}-{uuid.uuid4().hex[:6]}", expires_in_days
        )


async def customer(
    db: Database, tenant_id: str, *, customer_id: str | None = None, arr_cents: int = 24_000_00, name: str | None = None
) -> str:
    cid = customer_id or f"cus_{uuid.uuid4().hex[:10]}"
    async with db.tenant(tenant_id) as conn:
        await conn.execute(
            """insert into customers (tenant_id, id, name, email, arr_cents, contract, renewal_date)
                              values ($1, $2, $3, $4, $5, 'annual', $6)""",
            tenant_id,
            cid,
            name or f"Customer {cid}",
            f"owner@{cid}.example",
            arr_cents,
            RUN + dt.timedelta(days=45),
        )
    return cid


async def draft(
    db: Database,
    tenant_id: str,
    *,
    arr_cents: int = 24_000_00,
    classification: str = "at_risk",
    severity: str = "MEDIUM",
    route: str = "TIER2",
    run_date: dt.date = RUN,
    previous: bool = True,
    status: str = "pending",
) -> Draft:
    """A customer with evidence, a verdict with its factor math, two diary entries (the previous run's and this
    run's) and a pending save email that passes the anti-fabrication check."""
    cid = await customer(db, tenant_id, arr_cents=arr_cents)
    items = evidence_for(cid)
    ids = [i.source_id for i in items]
    factors = breakdown(items, DEFAULT_WEIGHTS).model_dump(mode="json") | {"notes": []}
    subject = "About your renewal"
    template = template_for(ids)
    ctx = citations.context(
        EvidenceBundle(tenant_id=tenant_id, customer_id=cid, run_date=run_date, items=items),
        f"Customer {cid}",
        classification,
    )
    body = citations.render_email(DraftEmail(subject=subject, body=template, anchors=ids), ctx).body
    d = Draft(
        tenant_id=tenant_id,
        id=draft_id(tenant_id, cid, run_date),
        customer_id=cid,
        customer_name=f"Customer {cid}",
        workflow_id=approval_workflow_id(tenant_id, cid, run_date),
        run_date=run_date,
        evidence_ids=ids,
        to_email=f"owner@{cid}.example",
        subject=subject,
        body=body,
        template_body=template,
    )
    async with db.tenant(tenant_id) as conn:
        await conn.execute(
            "insert into evidence (tenant_id, customer_id, run_date, source, items) values ($1, $2, $3, 'stripe', $4)",
            tenant_id,
            cid,
            run_date,
            [i.model_dump(mode="json") for i in items],
        )
        runs = [(PREVIOUS_RUN, "standard", "LOW", "Quiet quarter: invoices on time, seats steady.")] if previous else []
        runs.append(
            (
                run_date,
                classification,
                severity,
                f"Invoice {ids[0]} was paid 21 days late and seats fell from 40 to 25 ({ids[1]}).",
            )
        )
        for day, verdict, sev, paragraph in runs:
            await conn.execute(
                """
                insert into classifications (tenant_id, customer_id, run_date, classification, severity, score,
                                             factors, cited_source_ids, recommended_action, route, model)
                values ($1, $2, $3, $4, $5, $6, $7, $8, 'send_save_email', $9, 'offline')""",
                tenant_id,
                cid,
                day,
                verdict,
                sev,
                factors["total"],
                factors,
                ids if day == run_date else [],
                route,
            )
            await conn.execute(
                """insert into diary_entries (tenant_id, customer_id, run_date, paragraph,
                                  cited_source_ids) values ($1, $2, $3, $4, $5)""",
                tenant_id,
                cid,
                day,
                paragraph,
                ids if day == run_date else [],
            )
        await conn.execute(
            """
            insert into drafts (id, tenant_id, customer_id, run_date, kind, to_email, subject, body, anchors,
                                workflow_id, status, template_subject, template_body)
            values ($1, $2, $3, $4, 'save', $5, $6, $7, $8, $9, $10, $6, $11)""",
            d.id,
            tenant_id,
            cid,
            run_date,
            d.to_email,
            subject,
            body,
            ids,
            d.workflow_id,
            status,
            template,
        )
    return d


async def start_approval(client: Client, d: Draft, *, review_in_slack: bool = False) -> WorkflowHandle[Any, Any]:
    """The draft's real ApprovalWorkflow, started the way the scan starts it."""
    return await client.start_workflow(
        "ApprovalWorkflow",
        ApprovalInput(
            tenant_id=d.tenant_id,
            draft_id=d.id,
            customer_id=d.customer_id,
            run_date=d.run_date,
            review_in_slack=review_in_slack,
        ),
        id=d.workflow_id,
        task_queue=queues.MAIN,
        search_attributes=search.attrs(
            (search.TENANT, d.tenant_id),
            (search.CUSTOMER, d.customer_id),
            (search.RUN_DATE, d.run_date.isoformat()),
            (search.DRAFT_STATUS, "pending"),
        ),
    )


async def waiting_draft(db: Database, client: Client, tenant_id: str, **kwargs: Any) -> Draft:
    d = await draft(db, tenant_id, **kwargs)
    await start_approval(client, d)
    return d


async def verdicts(db: Database, tenant_id: str, n: int, *, demoted: bool, start: int = 0) -> None:
    """n bare verdicts recorded now (no draft), demoted for citing outside their evidence or not."""
    async with db.tenant(tenant_id) as conn:
        await conn.executemany(
            """
            insert into classifications (tenant_id, customer_id, run_date, classification, severity, score, factors,
                                         cited_source_ids, recommended_action, abstain_reason, route, model)
            values ($1, $2, current_date, 'standard', 'LOW', 0, '{}', '{}', 'internal_alert', $3, 'TIER1', 'm')""",
            [(tenant_id, f"cus_v{start + i}", "source_validation_failed" if demoted else None) for i in range(n)],
        )


async def completed_run(db: Database, tenant_id: str, run_date: dt.date, routes: dict[str, int]) -> None:
    """A completed scan run whose customers were routed as given (route -> how many)."""
    async with db.tenant(tenant_id) as conn:
        await conn.execute(
            """insert into scan_runs (tenant_id, run_date, status, due_count, finished_at)
                              values ($1, $2, 'completed', $3, now())""",
            tenant_id,
            run_date,
            sum(routes.values()),
        )
        await conn.executemany(
            """insert into scan_customers (tenant_id, run_date, customer_id, chunk_no, route)
                                  values ($1, $2, $3, 0, $4)""",
            [(tenant_id, run_date, f"cus_r{route}{i}", route) for route, n in routes.items() for i in range(n)],
        )


def plain_text(msg: Message) -> str:
    """The text/plain part of an email as the SMTP sink received it (a customer's email also has an HTML part)."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else ""
    return ""
