"""Operator overrides and the diary's operator lines (diary_notes). All SQL for them lives here; every function
runs in the caller's tenant transaction (RLS)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from schemas.evidence import EvidenceItem

COLUMNS = "id, customer_id, verdict, reason, expires_on, set_by, set_at, known_signals, ended_at, ended_by, end_reason"


async def open_for(conn: asyncpg.Connection, customer_ids: list[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        f"select {COLUMNS} from overrides where ended_at is null and customer_id = any($1::text[])", customer_ids
    )
    return {r["customer_id"]: r for r in rows}


async def history(conn: asyncpg.Connection, customer_id: str, limit: int = 20) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"select {COLUMNS} from overrides where customer_id = $1 order by set_at desc, id desc limit $2",
        customer_id,
        limit,
    )
    return rows


async def latest_items(conn: asyncpg.Connection, customer_id: str) -> list[EvidenceItem]:
    """The customer's evidence of its latest gathered run: what an override set now has already weighed."""
    rows = await conn.fetch(
        """select items from evidence where customer_id = $1
                                    and run_date = (select max(run_date) from evidence where customer_id = $1)""",
        customer_id,
    )
    return [EvidenceItem.model_validate(i) for r in rows for i in r["items"]]


async def end(
    conn: asyncpg.Connection, override_id: int, by: str, reason: str, notified: bool = False
) -> asyncpg.Record | None:
    """End an open override; None when it had already ended (a retry, a race with the scan)."""
    return await conn.fetchrow(
        f"""update overrides set ended_at = now(), ended_by = $2, end_reason = $3, notified = $4
             where id = $1 and ended_at is null returning {COLUMNS}""",
        override_id,
        by,
        reason,
        notified,
    )


async def create(
    conn: asyncpg.Connection,
    tenant_id: str,
    customer_id: str,
    verdict: str,
    reason: str,
    expires_on: dt.date,
    set_by: str,
    known_signals: list[str],
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""insert into overrides (tenant_id, customer_id, verdict, reason, expires_on, set_by, known_signals)
            values ($1, $2, $3, $4, $5, $6, $7) returning {COLUMNS}""",
        tenant_id,
        customer_id,
        verdict,
        reason,
        expires_on,
        set_by,
        known_signals,
    )


async def due_to_lapse(conn: asyncpg.Connection, today: dt.date) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"select {COLUMNS} from overrides where ended_at is null and expires_on <= $1", today
    )
    return rows


async def note(
    conn: asyncpg.Connection,
    tenant_id: str,
    customer_id: str,
    kind: str,
    actor: str,
    paragraph: str,
    detail: dict[str, Any],
) -> None:
    await conn.execute(
        """insert into diary_notes (tenant_id, customer_id, kind, actor, paragraph, detail)
                          values ($1, $2, $3, $4, $5, $6)""",
        tenant_id,
        customer_id,
        kind,
        actor,
        paragraph,
        detail,
    )


async def notes(conn: asyncpg.Connection, customer_id: str, limit: int = 100) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """select id, at, kind, actor, paragraph, detail from diary_notes
            where customer_id = $1 order by id desc limit $2""",
        customer_id,
        limit,
    )
    return rows


async def disagreement_candidates(
    conn: asyncpg.Connection, since: dt.date, until: dt.date
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """The week [since, until)'s overrides that held at some point, each beside the scan's latest verdict before
    `until`, and its skipped drafts with their reasons and verdicts: core.disagreement picks the disagreements."""
    held = await conn.fetch(
        """
        select o.customer_id, cu.name, cu.arr_cents, o.verdict, o.reason, o.set_by, o.expires_on, o.ended_at,
               c.classification, c.run_date
          from overrides o
          join customers cu on cu.tenant_id = o.tenant_id and cu.id = o.customer_id
          join lateral (select k.classification, k.run_date from classifications k
                         where k.tenant_id = o.tenant_id and k.customer_id = o.customer_id and k.run_date < $2
                         order by k.run_date desc limit 1) c on true
         where o.set_at < $2 and (o.ended_at is null or o.ended_at >= $1) and o.expires_on > $1
         order by o.customer_id, o.set_at desc""",
        since,
        until,
    )
    skipped = await conn.fetch(
        """
        select d.customer_id, cu.name, cu.arr_cents, d.kind, d.skip_reason, d.decided_by, d.run_date, c.classification
          from drafts d
          join customers cu on cu.tenant_id = d.tenant_id and cu.id = d.customer_id
          join classifications c on c.tenant_id = d.tenant_id and c.customer_id = d.customer_id
                                and c.run_date = d.run_date
         where d.status = 'skipped' and d.decided_at >= $1 and d.decided_at < $2
         order by d.customer_id""",
        since,
        until,
    )
    return held, skipped


async def holding_on(conn: asyncpg.Connection, day: dt.date, customer_ids: list[str]) -> dict[str, str]:
    """customer id -> the classification its override stands for, for the overrides holding on `day`."""
    rows = await conn.fetch(
        """select customer_id, verdict from overrides
            where customer_id = any($1::text[]) and set_at::date <= $2 and expires_on > $2
              and (ended_at is null or ended_at::date > $2)""",
        customer_ids,
        day,
    )
    return {r["customer_id"]: ("standard" if r["verdict"] == "hold_standard" else r["verdict"]) for r in rows}
