"""Monitored customers and their diary, as operators read them. All SQL for these reads lives here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg


async def list_with_last_verdict(
    conn: asyncpg.Connection,
    limit: int,
    offset: int,
    *,
    classification: str | None = None,
    abstain_reason: str | None = None,
) -> list[asyncpg.Record]:
    """Every customer the tenant monitors, soonest renewal first, with its latest verdict (if any); optionally
    only those whose latest verdict has that classification or abstain reason."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        select c.id, c.name, c.arr_cents, c.renewal_date, c.status, l.run_date, l.classification, l.severity,
               l.route, l.needs_review, l.abstain_reason, l.model
          from customers c
          left join lateral (select * from classifications k
                              where k.tenant_id = c.tenant_id and k.customer_id = c.id
                              order by k.run_date desc limit 1) l on true
         where ($3::text is null or l.classification = $3)
           and ($4::text is null or starts_with(l.abstain_reason, $4))
         order by c.renewal_date nulls last, c.id limit $1 offset $2""",
        limit,
        offset,
        classification,
        abstain_reason,
    )
    return rows


async def exists(conn: asyncpg.Connection, customer_id: str) -> bool:
    return bool(await conn.fetchval("select exists (select 1 from customers where id = $1)", customer_id))


async def diary(
    conn: asyncpg.Connection, customer_id: str, limit: int = 100, offset: int = 0, before: dt.date | None = None
) -> list[asyncpg.Record]:
    """The customer's diary, newest first, each paragraph beside the verdict of its run."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        select d.run_date, d.paragraph, d.cited_source_ids, d.created_at, c.classification, c.severity, c.route
          from diary_entries d left join classifications c
            on c.tenant_id = d.tenant_id and c.customer_id = d.customer_id and c.run_date = d.run_date
         where d.customer_id = $1 and ($4::date is null or d.run_date < $4)
         order by d.run_date desc limit $2 offset $3""",
        customer_id,
        limit,
        offset,
        before,
    )
    return rows


async def count(conn: asyncpg.Connection, tenant_id: str) -> int:
    return int(await conn.fetchval("select count(*) from customers where tenant_id = $1", tenant_id))


async def name(conn: asyncpg.Connection, tenant_id: str, customer_id: str) -> str | None:
    value = await conn.fetchval("select name from customers where tenant_id = $1 and id = $2", tenant_id, customer_id)
    return str(value) if value is not None else None


async def names_and_arr(conn: asyncpg.Connection, ids: list[str]) -> dict[str, tuple[str, int]]:
    """customer id → (name, ARR in cents)."""
    rows = await conn.fetch("select id, name, arr_cents from customers where id = any($1::text[])", ids)
    return {r["id"]: (r["name"], r["arr_cents"]) for r in rows}


# ---- renewal dates (core/renewal): the CRM's close date beside Stripe's, and the one the due set uses ---------


PAYING = ("active", "past_due", "trialing")


async def crm_links(
    conn: asyncpg.Connection, tenant_id: str, only: list[str] | None = None
) -> dict[str, dict[str, str]]:
    """customer id → its links (Stripe metadata: CRM company/account ids), for every paying customer (or those of
    `only` that are)."""
    rows = await conn.fetch(
        """select id, links from customers
            where tenant_id = $1 and status = any($2::text[]) and ($3::text[] is null or id = any($3::text[]))""",
        tenant_id,
        list(PAYING),
        only,
    )
    return {r["id"]: dict(r["links"] or {}) for r in rows}


async def set_crm_renewal_dates(
    conn: asyncpg.Connection,
    tenant_id: str,
    crm: str,
    dates: dict[str, dt.date | None],
    only: list[str] | None = None,
) -> None:
    """What one CRM read: its close dates for the customers it knows; its earlier dates of others (now unlinked,
    or the CRM disconnected when `dates` is empty) are cleared, another CRM's are left alone. A read of `only` some
    customers clears among those only."""
    await conn.execute(
        """update customers set crm_renewal_date = null, crm_renewal_source = null
            where tenant_id = $1 and crm_renewal_source = $2 and not (id = any($3::text[]))
              and ($4::text[] is null or id = any($4::text[]))""",
        tenant_id,
        crm,
        list(dates),
        only,
    )
    await conn.execute(
        """update customers c set crm_renewal_date = d.crm_date, crm_renewal_source = $2
             from unnest($3::text[], $4::date[]) as d(id, crm_date)
            where c.tenant_id = $1 and c.id = d.id""",
        tenant_id,
        crm,
        list(dates),
        list(dates.values()),
    )


async def crm_renewal_dates(conn: asyncpg.Connection, tenant_id: str) -> dict[str, dt.date]:
    """customer id → the CRM close date the last read stored, for the customers that have one."""
    rows = await conn.fetch(
        "select id, crm_renewal_date from customers where tenant_id = $1 and crm_renewal_date is not null", tenant_id
    )
    return {r["id"]: r["crm_renewal_date"] for r in rows}


async def renewal_inputs(conn: asyncpg.Connection, tenant_id: str) -> list[asyncpg.Record]:
    """Every customer's renewal date as stored, and what it is chosen from."""
    return list(
        await conn.fetch(
            "select id, renewal_date, crm_renewal_date, billing from customers where tenant_id = $1", tenant_id
        )
    )


async def set_renewal_dates(
    conn: asyncpg.Connection, tenant_id: str, changed: Sequence[tuple[str, dt.date | None, str | None]]
) -> None:
    """(customer id, renewal date, its source): the date the due set uses, and the same in `billing`, which the
    subscription evidence quotes."""
    await conn.executemany(
        """update customers set renewal_date = $3,
                  billing = billing || jsonb_build_object('renewal_date', $3::date::text, 'renewal_source', $4::text)
            where tenant_id = $1 and id = $2""",
        [(tenant_id, cid, when, source) for cid, when, source in changed],
    )
