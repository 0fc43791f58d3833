"""Evidence kept between scans (migration 0028): the tenant's Stripe invoices and each source's read cursor.
All SQL for them lives here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import asyncpg

STRIPE_INVOICES = "stripe_invoices"  # the tenant-wide invoice read's cursor
UNSETTLED = ("draft", "open", "uncollectible")  # statuses an invoice can still leave: re-read until it does


async def put_invoices(conn: asyncpg.Connection, tenant_id: str, invoices: Iterable[dict[str, Any]]) -> None:
    """Insert or refresh invoices in Stripe's wire format; a redelivered or re-read one replaces its older copy."""
    await conn.executemany(
        """insert into stripe_invoices (tenant_id, invoice_id, customer_id, created, status, body)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (tenant_id, invoice_id) do update
              set customer_id = excluded.customer_id, created = excluded.created, status = excluded.status,
                  body = excluded.body, updated_at = now()""",
        [(tenant_id, str(i["id"]), str(i["customer"]), _created(i), str(i.get("status")), i) for i in invoices],
    )


def _created(invoice: dict[str, Any]) -> int | None:
    created = invoice.get("created")
    return created if isinstance(created, int) else None


async def invoice_cursor(conn: asyncpg.Connection, since: int) -> int:
    """Where the next tenant-wide read starts (`created[gte]`): the oldest invoice kept that may still change
    (open, draft, uncollectible: payment comes later), else the newest kept, else `since` (the history window)."""
    row = await conn.fetchrow(
        """select min(created) filter (where status = any($2::text[])) as unsettled, max(created) as newest
             from stripe_invoices where created >= $1""",
        since,
        list(UNSETTLED),
    )
    return int(row["unsettled"] or row["newest"] or since)


async def invoices_for(
    conn: asyncpg.Connection, customer_ids: list[str], since: int
) -> dict[str, list[dict[str, Any]]]:
    """The stored invoices of these customers created since `since`, per customer; one whose `created` is unreadable
    too, so the scan names it (invoice_signals reads each at the edge) instead of dropping it unseen."""
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in customer_ids}
    rows = await conn.fetch(
        """select customer_id, body from stripe_invoices
            where customer_id = any($1::text[]) and (created >= $2 or created is null) order by created""",
        customer_ids,
        since,
    )
    for r in rows:
        out[r["customer_id"]].append(r["body"])
    return out


async def set_cursor(conn: asyncpg.Connection, tenant_id: str, source: str, cursor: str, synced_for: dt.date) -> None:
    await conn.execute(
        """insert into source_cursors (tenant_id, source, cursor, synced_for) values ($1, $2, $3, $4)
           on conflict (tenant_id, source) do update
              set cursor = excluded.cursor, synced_for = excluded.synced_for, updated_at = now()""",
        tenant_id,
        source,
        cursor,
        synced_for,
    )


async def cursor(conn: asyncpg.Connection, source: str) -> tuple[str, dt.date | None] | None:
    """The transaction's tenant's cursor for a source, and the scan day it was read for."""
    row = await conn.fetchrow("select cursor, synced_for from source_cursors where source = $1", source)
    return (str(row["cursor"]), row["synced_for"]) if row else None


async def cursors(conn: asyncpg.Connection, prefix: str) -> dict[str, str]:
    """Every cursor of the transaction's tenant whose source starts with `prefix` (e.g. each Slack channel's)."""
    rows = await conn.fetch("select source, cursor from source_cursors where starts_with(source, $1)", prefix)
    return {r["source"]: r["cursor"] for r in rows}
