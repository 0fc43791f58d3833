"""A customer's recorded runs (verdict, factor math, evidence) for core.changes. All SQL for it lives here."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import asyncpg
from pydantic import ValidationError

from core.changes import Run
from db.scans import ITEMS
from schemas.evidence import EvidenceItem
from schemas.verdict import FactorBreakdown


def _math(raw: Any) -> FactorBreakdown | None:
    try:
        return FactorBreakdown.model_validate(raw)
    except ValidationError:  # a verdict recorded without the factor math
        return None


async def runs(conn: asyncpg.Connection, customer_id: str, since: dt.date | None, limit: int = 30) -> list[Run]:
    """The customer's runs on or after `since` (newest `limit` of them), plus the one run before the first, oldest
    first: every run shown has its previous run to be compared with."""
    rows = await conn.fetch(
        """
        with shown as (
            select run_date from classifications
             where customer_id = $1 and ($2::date is null or run_date >= $2)
             order by run_date desc limit $3),
        before as (
            select max(run_date) run_date from classifications
             where customer_id = $1 and run_date < (select coalesce(min(run_date), 'infinity') from shown))
        select c.run_date, c.classification, c.severity, c.factors from classifications c
         where c.customer_id = $1
           and (c.run_date in (select run_date from shown) or c.run_date = (select run_date from before))
         order by c.run_date""",
        customer_id,
        since,
        limit,
    )
    dates = [r["run_date"] for r in rows]
    items: dict[dt.date, list[EvidenceItem]] = defaultdict(list)
    for e in await conn.fetch(
        "select run_date, items from evidence where customer_id = $1 and run_date = any($2::date[])",
        customer_id,
        dates,
    ):
        items[e["run_date"]].extend(EvidenceItem.model_validate(i) for i in e["items"])
    return [
        Run(
            run_date=r["run_date"],
            classification=r["classification"],
            severity=r["severity"],
            items=sorted(items[r["run_date"]], key=lambda i: (i.source_id, i.kind)),
            breakdown=_math(r["factors"]),
            notes=tuple((r["factors"] or {}).get("notes", [])),
        )
        for r in rows
    ]


async def latest_verdict(conn: asyncpg.Connection, customer_id: str) -> asyncpg.Record | None:
    """The scan's own latest verdict for the customer (an override never changes it)."""
    return await conn.fetchrow(
        """select run_date, classification, severity from classifications where customer_id = $1
            order by run_date desc limit 1""",
        customer_id,
    )


async def previous_runs(conn: asyncpg.Connection, run_date: dt.date, customer_ids: list[str]) -> dict[str, Run]:
    """Each customer's latest run before `run_date` (its verdict, math and evidence), for a batch being recorded."""
    rows = await conn.fetch(
        """
        select distinct on (customer_id) customer_id, run_date, classification, severity, factors
          from classifications where customer_id = any($1::text[]) and run_date < $2
         order by customer_id, run_date desc""",
        customer_ids,
        run_date,
    )
    items: dict[tuple[str, dt.date], list[EvidenceItem]] = defaultdict(list)
    for e in await conn.fetch(  # the items as JSON text, parsed and validated in one pass (db/scans.load_bundles)
        """select e.customer_id, e.run_date, e.items::text as items from evidence e
            join unnest($1::text[], $2::date[]) p(customer_id, run_date)
              on p.customer_id = e.customer_id and p.run_date = e.run_date""",
        [r["customer_id"] for r in rows],
        [r["run_date"] for r in rows],
    ):
        items[(e["customer_id"], e["run_date"])].extend(ITEMS.validate_json(e["items"]))
    return {
        r["customer_id"]: Run(
            run_date=r["run_date"],
            classification=r["classification"],
            severity=r["severity"],
            items=items[(r["customer_id"], r["run_date"])],
            breakdown=_math(r["factors"]),
        )
        for r in rows
    }


async def runs_on(conn: asyncpg.Connection, day: dt.date, customer_ids: list[str]) -> dict[str, Run]:
    """The customers' runs of `day` (verdict, math, evidence): the briefing's top movers compare them."""
    rows = await conn.fetch(
        """select customer_id, run_date, classification, severity, factors from classifications
            where run_date = $1 and customer_id = any($2::text[])""",
        day,
        customer_ids,
    )
    items: dict[str, list[EvidenceItem]] = defaultdict(list)
    for e in await conn.fetch(
        "select customer_id, items from evidence where run_date = $1 and customer_id = any($2::text[])",
        day,
        [r["customer_id"] for r in rows],
    ):
        items[e["customer_id"]].extend(EvidenceItem.model_validate(i) for i in e["items"])
    return {
        r["customer_id"]: Run(
            run_date=day,
            classification=r["classification"],
            severity=r["severity"],
            items=items[r["customer_id"]],
            breakdown=_math(r["factors"]),
        )
        for r in rows
    }
