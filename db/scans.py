"""The scan pipeline's SQL: customers, the frozen due set, evidence, routes, verdicts, diary and drafts.

Every write is idempotent on (tenant, customer, run date): a retried activity or a re-run date writes nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import asyncpg
from pydantic import TypeAdapter

from schemas import ids
from schemas.diary import PreviousEntry
from schemas.evidence import CustomerProfile, EvidenceBundle, EvidenceItem
from schemas.verdict import Route, Verdict
from schemas.workflow_io import ScanPlan

ITEMS = TypeAdapter(list[EvidenceItem])
VERDICTS = TypeAdapter(list[Verdict])


def draft_id(tenant_id: str, customer_id: str, run_date: dt.date) -> str:
    return f"{tenant_id}:{customer_id}:{run_date.isoformat()}"


approval_workflow_id = ids.approval  # stored with each draft


async def upsert_customers(conn: asyncpg.Connection, tenant_id: str, rows: list[dict[str, Any]]) -> int:
    await conn.executemany(
        """
        insert into customers (tenant_id, id, name, email, arr_cents, contract, renewal_date, subscription_id,
                               status, links, billing)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        on conflict (tenant_id, id) do update set
            name = excluded.name, email = excluded.email, arr_cents = excluded.arr_cents,
            contract = excluded.contract, renewal_date = excluded.renewal_date,
            subscription_id = excluded.subscription_id, status = excluded.status, links = excluded.links,
            billing = excluded.billing, updated_at = now()
        -- a customer Stripe still describes the same way is not rewritten (most of them, every day)
        where (customers.name, customers.email, customers.arr_cents, customers.contract, customers.renewal_date,
               customers.subscription_id, customers.status, customers.links, customers.billing)
              is distinct from
              (excluded.name, excluded.email, excluded.arr_cents, excluded.contract, excluded.renewal_date,
               excluded.subscription_id, excluded.status, excluded.links, excluded.billing)""",
        [
            (
                tenant_id,
                r["id"],
                r["name"],
                r["email"],
                r["arr_cents"],
                r["contract"],
                r["renewal_date"],
                r["subscription_id"],
                r["status"],
                r["links"],
                r["billing"],
            )
            for r in rows
        ],
    )
    return len(rows)


async def start_run(conn: asyncpg.Connection, tenant_id: str, run_date: dt.date) -> None:
    await conn.execute(
        """insert into scan_runs (tenant_id, run_date) values ($1, $2)
                          on conflict (tenant_id, run_date) do update set status = 'running', error = null
                          where scan_runs.status = 'failed'""",
        tenant_id,
        run_date,
    )


async def finish_run(
    conn: asyncpg.Connection,
    tenant_id: str,
    run_date: dt.date,
    status: str,
    summary: dict[str, Any],
    error: str | None = None,
) -> None:
    await conn.execute(
        """update scan_runs set status = $3, summary = $4, error = $5, finished_at = now()
                          where tenant_id = $1 and run_date = $2""",
        tenant_id,
        run_date,
        status,
        summary,
        error,
    )


async def freeze_due(conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, chunk_size: int) -> ScanPlan:
    """The due set: 14–90 days (tenant window) from renewal, paying, not scanned in the last 23 hours.

    Frozen at the first call for a run date, so a retry or re-run sees exactly the same customers."""
    exists = await conn.fetchval(
        "select exists (select 1 from scan_customers where tenant_id = $1 and run_date = $2)", tenant_id, run_date
    )
    if not exists:
        await conn.execute(
            """
            insert into scan_customers (tenant_id, run_date, customer_id, chunk_no)
            select c.tenant_id, $2, c.id, ((row_number() over (order by c.renewal_date, c.id)) - 1) / $3
              from customers c join tenant_settings s on s.tenant_id = c.tenant_id
             where c.tenant_id = $1
               and c.status in ('active', 'past_due', 'trialing')
               and c.renewal_date between $2::date + s.window_min_days and $2::date + s.window_max_days
               and (c.last_scanned_at is null or c.last_scanned_at < now() - interval '23 hours')
            on conflict do nothing""",
            tenant_id,
            run_date,
            chunk_size,
        )
    rows = await conn.fetch(
        """select chunk_no, count(*) n from scan_customers where tenant_id = $1 and run_date = $2
                               group by chunk_no order by chunk_no""",
        tenant_id,
        run_date,
    )
    due = sum(r["n"] for r in rows)
    await conn.execute(
        "update scan_runs set due_count = $3 where tenant_id = $1 and run_date = $2", tenant_id, run_date, due
    )
    return ScanPlan(due=due, chunks=[r["chunk_no"] for r in rows])


def _profile(r: asyncpg.Record) -> CustomerProfile:
    return CustomerProfile(
        tenant_id=r["tenant_id"],
        customer_id=r["id"],
        name=r["name"],
        email=r["email"],
        arr_cents=r["arr_cents"],
        contract=r["contract"],
        renewal_date=r["renewal_date"],
        links=r["links"],
        billing=r["billing"],
    )


async def chunk_profiles(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, chunk_no: int, scope: str = "scan"
) -> list[CustomerProfile]:
    """A chunk of the renewal scan's due customers, or (scope "briefing") of the health briefing's paying ones."""
    if scope == "briefing":
        rows = await conn.fetch(
            """select c.* from briefing_customers b join customers c
                                     on c.tenant_id = b.tenant_id and c.id = b.customer_id
                                   where b.tenant_id = $1 and b.day = $2 and b.chunk_no = $3 order by c.id""",
            tenant_id,
            run_date,
            chunk_no,
        )
    else:
        rows = await conn.fetch(
            """select c.* from scan_customers sc join customers c
                                     on c.tenant_id = sc.tenant_id and c.id = sc.customer_id
                                   where sc.tenant_id = $1 and sc.run_date = $2 and sc.chunk_no = $3 order by c.id""",
            tenant_id,
            run_date,
            chunk_no,
        )
    return [_profile(r) for r in rows]


async def batch_profiles(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, batch_no: int
) -> list[CustomerProfile]:
    rows = await conn.fetch(
        """select c.* from scan_customers sc join customers c
                                 on c.tenant_id = sc.tenant_id and c.id = sc.customer_id
                               where sc.tenant_id = $1 and sc.run_date = $2 and sc.batch_no = $3 order by c.id""",
        tenant_id,
        run_date,
        batch_no,
    )
    return [_profile(r) for r in rows]


async def not_yet_gathered(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, source: str, profiles: list[CustomerProfile]
) -> list[CustomerProfile]:
    """The profiles without `source` evidence for the day. The briefing leaves what the scan gathered alone: a
    draft's evidence must not change under it."""
    have = {
        r[0]
        for r in await conn.fetch(
            """select customer_id from evidence where tenant_id = $1 and run_date = $2
                                              and source = $3 and customer_id = any($4::text[])""",
            tenant_id,
            run_date,
            source,
            [p.customer_id for p in profiles],
        )
    }
    return [p for p in profiles if p.customer_id not in have]


async def write_evidence(
    conn: asyncpg.Connection,
    tenant_id: str,
    run_date: dt.date,
    source: str,
    per_customer: dict[str, tuple[list[EvidenceItem], str | None]],
) -> None:
    await conn.executemany(
        """
        insert into evidence (tenant_id, customer_id, run_date, source, items, error) values ($1, $2, $3, $4, $5, $6)
        on conflict (tenant_id, customer_id, run_date, source) do update
            set items = excluded.items, error = excluded.error, gathered_at = now()""",
        [
            (tenant_id, cid, run_date, source, [i.model_dump(mode="json") for i in items], err)
            for cid, (items, err) in per_customer.items()
        ],
    )


async def load_bundles(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, customer_ids: list[str]
) -> dict[str, EvidenceBundle]:
    # The items as JSON text, validated in one pass by pydantic's own parser: json.loads and then a model_validate
    # per item cost about three times as much, on every batch's read and again as it is recorded (issue 14).
    rows = await conn.fetch(
        """select customer_id, source, items::text as items, error from evidence
                               where tenant_id = $1 and run_date = $2 and customer_id = any($3::text[])""",
        tenant_id,
        run_date,
        customer_ids,
    )
    items: dict[str, list[EvidenceItem]] = defaultdict(list)
    missing: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows:
        items[r["customer_id"]].extend(ITEMS.validate_json(r["items"]))
        if r["error"]:
            missing[r["customer_id"]][r["source"]] = r["error"]
    return {
        cid: EvidenceBundle(
            tenant_id=tenant_id,
            customer_id=cid,
            run_date=run_date,
            items=sorted(items[cid], key=lambda i: i.source_id),
            missing=missing[cid],
        )
        for cid in customer_ids
    }


async def previous_evidence_ids(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, customer_ids: list[str]
) -> dict[str, set[str]]:
    rows = await conn.fetch(
        """
        select e.customer_id, e.items from evidence e
         where e.tenant_id = $1 and e.customer_id = any($3::text[])
           and e.run_date = (select max(run_date) from evidence p where p.tenant_id = e.tenant_id
                              and p.customer_id = e.customer_id and p.run_date < $2)""",
        tenant_id,
        run_date,
        customer_ids,
    )
    out: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        out[r["customer_id"]].update(i["source_id"] for i in r["items"])
    return out


async def previous_entries(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, customer_ids: list[str], depth: int = 2
) -> dict[str, list[PreviousEntry]]:
    rows = await conn.fetch(
        """
        select * from (
            select c.customer_id, c.run_date, c.classification, c.severity, d.paragraph,
                   row_number() over (partition by c.customer_id order by c.run_date desc) rn
              from classifications c join diary_entries d
                on d.tenant_id = c.tenant_id and d.customer_id = c.customer_id and d.run_date = c.run_date
             where c.tenant_id = $1 and c.run_date < $2 and c.customer_id = any($3::text[])) x
        where rn <= $4 order by customer_id, run_date desc""",
        tenant_id,
        run_date,
        customer_ids,
        depth,
    )
    out: dict[str, list[PreviousEntry]] = defaultdict(list)
    for r in rows:
        out[r["customer_id"]].append(
            PreviousEntry(
                run_date=r["run_date"],
                classification=r["classification"],
                severity=r["severity"],
                paragraph=r["paragraph"],
            )
        )
    return out


async def assign_batches(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, assignments: list[tuple[str, Route, int]]
) -> None:
    await conn.executemany(
        """update scan_customers set route = $4, batch_no = $5
                              where tenant_id = $1 and run_date = $2 and customer_id = $3""",
        [(tenant_id, run_date, cid, route, b) for cid, route, b in assignments],
    )


async def save_model_output(
    conn: asyncpg.Connection,
    tenant_id: str,
    run_date: dt.date,
    batch_no: int,
    stage: str,
    model: str,
    output: dict[str, Any],
) -> None:
    await conn.execute(
        """insert into model_outputs (tenant_id, run_date, batch_no, stage, model, output)
                          values ($1, $2, $3, $4, $5, $6)
                          on conflict (tenant_id, run_date, batch_no, stage) do nothing""",
        tenant_id,
        run_date,
        batch_no,
        stage,
        model,
        output,
    )


async def load_model_output(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, batch_no: int, stage: str
) -> dict[str, Any] | None:
    value: dict[str, Any] | None = await conn.fetchval(
        """select output from model_outputs where tenant_id = $1 and run_date = $2
                                  and batch_no = $3 and stage = $4""",
        tenant_id,
        run_date,
        batch_no,
        stage,
    )
    return value


async def load_verdicts(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, batch_no: int, stage: str
) -> list[Verdict] | None:
    """A stage's verdicts (load_model_output's "verdicts"), parsed and validated in one pass from the JSON text."""
    text: str | None = await conn.fetchval(
        """select (output->'verdicts')::text from model_outputs where tenant_id = $1 and run_date = $2
                                  and batch_no = $3 and stage = $4""",
        tenant_id,
        run_date,
        batch_no,
        stage,
    )
    return None if text is None else VERDICTS.validate_json(text)


async def record_verdicts(
    conn: asyncpg.Connection,
    tenant_id: str,
    run_date: dt.date,
    verdicts: list[Verdict],
    profiles: dict[str, CustomerProfile],
) -> list[str]:
    """Classification, diary paragraph, draft and audit per customer, in the caller's transaction.

    The classification row is the once-per-run guard: when it already exists (a retry, a re-run date)
    nothing else is written for that customer. Set-based, a statement per table for the batch (pipelined), where a
    row at a time cost some forty round trips per batch of ten: at 10,000 customers a large share of the worker's
    CPU per customer (issue 14). Returns the ids of the drafts this run has for these customers, new or already
    written."""
    new = {
        r["customer_id"]
        for r in await conn.fetch(
            """
            insert into classifications (tenant_id, customer_id, run_date, classification, severity, score, factors,
                                         cited_source_ids, recommended_action, abstain_reason, route, model,
                                         needs_review, fingerprint, carried_from)
            select $1, x.customer_id, $2, x.classification, x.severity, x.score, x.factors, x.cited_source_ids,
                   x.recommended_action, x.abstain_reason, x.route, x.model, x.needs_review, x.fingerprint,
                   x.carried_from
              from jsonb_to_recordset($3::jsonb) as x(customer_id text, classification text, severity text,
                   score numeric, factors jsonb, cited_source_ids text[], recommended_action text,
                   abstain_reason text, route text, model text, needs_review boolean, fingerprint text,
                   carried_from date)
            on conflict do nothing
            returning customer_id""",
            tenant_id,
            run_date,
            [
                {
                    "customer_id": v.customer_id,
                    "classification": v.classification,
                    "severity": v.severity,
                    "score": v.breakdown.total,
                    "factors": v.breakdown.model_dump(mode="json") | {"notes": v.notes},
                    "cited_source_ids": v.cited_source_ids,
                    "recommended_action": v.recommended_action,
                    "abstain_reason": v.abstain_reason,
                    "route": v.route,
                    "model": v.model,
                    "needs_review": v.needs_review,
                    "fingerprint": v.fingerprint,
                    "carried_from": v.carried_from.isoformat() if v.carried_from else None,
                }
                for v in verdicts
            ],
        )
    }
    fresh = [v for v in verdicts if v.customer_id in new]
    if fresh:
        await conn.executemany(
            """insert into diary_entries (tenant_id, customer_id, run_date, paragraph,
                              cited_source_ids) values ($1, $2, $3, $4, $5)""",
            [(tenant_id, v.customer_id, run_date, v.rendered_diary or v.diary, v.cited_source_ids) for v in fresh],
        )
        # The customer's text beside the template it was rendered from (a row recorded before templates has only
        # its free text, stored as it was).
        mailed = [
            (v, v.email, v.rendered_email) for v in fresh if v.email is not None and profiles[v.customer_id].email
        ]
        if mailed:
            await conn.executemany(
                """
                insert into drafts (id, tenant_id, customer_id, run_date, kind, to_email, subject, body,
                                    anchors, workflow_id, template_subject, template_body, quotes_customer)
                values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
                [
                    (
                        draft_id(tenant_id, v.customer_id, run_date),
                        tenant_id,
                        v.customer_id,
                        run_date,
                        "upsell" if v.classification == "expansion" else "save",
                        profiles[v.customer_id].email,
                        shown.subject if shown else email.subject,
                        shown.body if shown else email.body,
                        email.anchors,
                        approval_workflow_id(tenant_id, v.customer_id, run_date),
                        email.subject if shown else None,
                        email.body if shown else None,
                        bool(shown and shown.quotes_customer),
                    )
                    for v, email, shown in mailed
                ],
            )
        await conn.executemany(
            """insert into audit_log (tenant_id, actor, action, subject, detail)
                              values ($1, $2, 'verdict.recorded', $3, $4)""",
            [
                (
                    tenant_id,
                    f"model:{v.model}",
                    v.customer_id,
                    {
                        "run_date": run_date.isoformat(),
                        "classification": v.classification,
                        "severity": v.severity,
                        "route": v.route,
                        "notes": v.notes,
                    },
                )
                for v in fresh
            ],
        )
    wanted = [draft_id(tenant_id, v.customer_id, run_date) for v in verdicts]
    have = {r["id"] for r in await conn.fetch("select id from drafts where id = any($1::text[])", wanted)}
    drafts = [d for d in wanted if d in have]
    await conn.execute(
        """update customers set last_scanned_at = now()
                          where tenant_id = $1 and id = any($2::text[])""",
        tenant_id,
        [v.customer_id for v in verdicts],
    )
    return drafts
