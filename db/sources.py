"""Evidence kept between scans (migration 0028): the tenant's Stripe invoices and each source's read cursor.
All SQL for them lives here."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import asyncpg

STRIPE_INVOICES = "stripe_invoices"  # the tenant-wide invoice read's cursor
# where the customer and subscription lists are cut into windows read side by side (core/windows)
STRIPE_CUSTOMER_CUTS = "stripe_customers:cuts"
STRIPE_SUBSCRIPTION_CUTS = "stripe_subscriptions:cuts"
CHANGED_LINKS = "stripe_customers:changed_links"  # customers whose CRM links the day's sync changed
SLACK_EVENTS = "slack_events"  # set when the tenant's Slack Events API endpoint first answers Slack: events flow
UNSETTLED = ("draft", "open", "uncollectible")  # statuses an invoice can still leave: re-read until it does


async def put_invoices(
    conn: asyncpg.Connection, tenant_id: str, invoices: Iterable[dict[str, Any]], seen_at: int
) -> None:
    """Insert or refresh invoices in Stripe's wire format, as true at `seen_at` (epoch seconds: a list read's time,
    a webhook event's `created`). A copy older than the one kept (an event delivered late) changes nothing."""
    await conn.executemany(
        """insert into stripe_invoices (tenant_id, invoice_id, customer_id, created, status, body, seen_at)
           values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (tenant_id, invoice_id) do update
              set customer_id = excluded.customer_id, created = excluded.created, status = excluded.status,
                  body = excluded.body, seen_at = excluded.seen_at, updated_at = now()
            where stripe_invoices.seen_at is null or stripe_invoices.seen_at <= excluded.seen_at""",
        [
            (tenant_id, str(i["id"]), str(i["customer"]), _created(i), str(i.get("status")), i, seen_at)
            for i in invoices
        ],
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


async def cut_points(conn: asyncpg.Connection, source: str) -> list[int]:
    """The created-time cut points a windowed list read keeps for its next read (core/windows); none at first."""
    kept = await cursor(conn, source)
    try:
        points = json.loads(kept[0]) if kept else []
    except ValueError:
        return []
    return [int(p) for p in points if isinstance(p, int)] if isinstance(points, list) else []


async def set_cut_points(
    conn: asyncpg.Connection, tenant_id: str, source: str, points: list[int], synced_for: dt.date
) -> None:
    await set_cursor(conn, tenant_id, source, json.dumps(points), synced_for)


async def add_changed_links(
    conn: asyncpg.Connection, tenant_id: str, customer_ids: list[str], synced_for: dt.date
) -> None:
    """The customers whose CRM links a customer sync for `synced_for` changed, added to those an earlier sync of the
    same day changed (a briefing's sync after the scan's finds nothing new, and must not hide what the scan's found)."""
    kept = await changed_links(conn, synced_for)
    ids = sorted(set(kept or []) | set(customer_ids))
    await set_cursor(conn, tenant_id, CHANGED_LINKS, json.dumps(ids), synced_for)


async def changed_links(conn: asyncpg.Connection, synced_for: dt.date) -> list[str] | None:
    """What add_changed_links kept for that day; None when no sync of that day said."""
    kept = await cursor(conn, CHANGED_LINKS)
    if kept is None or kept[1] != synced_for:
        return None
    try:
        ids = json.loads(kept[0])
    except ValueError:
        return None
    return [str(i) for i in ids] if isinstance(ids, list) else None


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


# ---- Slack -------------------------------------------------------------------------------------------------------


async def put_messages(conn: asyncpg.Connection, tenant_id: str, channel: str, messages: list[dict[str, Any]]) -> None:
    """Keep messages (a read's, an event's); one kept already is replaced by a copy as new or newer (its `edited`
    ts), so an edit delivered before the original message is not undone by it."""
    await conn.executemany(
        """insert into slack_messages (tenant_id, channel, ts, body) values ($1, $2, $3, $4)
           on conflict (tenant_id, channel, ts) do update set body = excluded.body
            where coalesce((slack_messages.body->'edited'->>'ts')::numeric, 0)
                  <= coalesce((excluded.body->'edited'->>'ts')::numeric, 0)""",
        [(tenant_id, channel, str(m["ts"]), m) for m in sorted(messages, key=lambda m: str(m["ts"]))],  # key order
    )


async def delete_message(conn: asyncpg.Connection, channel: str, ts: str) -> None:
    await conn.execute("delete from slack_messages where channel = $1 and ts = $2", channel, ts)


async def count_reply(conn: asyncpg.Connection, channel: str, parent_ts: str) -> None:
    """A thread reply arrived: its parent kept here has one more (the unanswered-question rule reads reply_count)."""
    await conn.execute(
        """update slack_messages
              set body = jsonb_set(body, '{reply_count}', to_jsonb(coalesce((body->>'reply_count')::int, 0) + 1))
            where channel = $1 and ts = $2""",
        channel,
        parent_ts,
    )


async def kept_messages(conn: asyncpg.Connection, channels: list[str], oldest: str) -> dict[str, list[dict[str, Any]]]:
    """The kept messages of these channels since `oldest` (a Slack ts), newest first, per channel."""
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in channels}
    rows = await conn.fetch(
        """select channel, body from slack_messages
            where channel = any($1::text[]) and ts::numeric >= $2::numeric order by ts::numeric desc""",
        channels,
        oldest,
    )
    for r in rows:
        out[r["channel"]].append(r["body"])
    return out


async def kept_users(conn: asyncpg.Connection) -> dict[str, dict[str, Any]]:
    """The users.info records kept for the transaction's tenant."""
    return {r["user_id"]: r["body"] for r in await conn.fetch("select user_id, body from slack_users")}


async def put_users(conn: asyncpg.Connection, tenant_id: str, users: dict[str, dict[str, Any]]) -> None:
    await conn.executemany(
        """insert into slack_users (tenant_id, user_id, body) values ($1, $2, $3)
           on conflict (tenant_id, user_id) do update set body = excluded.body""",
        # In key order: two chunks keeping the same users at once then lock them in the same order (no deadlock).
        [(tenant_id, uid, users[uid]) for uid in sorted(users)],
    )


async def read_marks(conn: asyncpg.Connection, prefix: str) -> dict[str, tuple[str, dt.date | None]]:
    """Each cursor of the transaction's tenant under `prefix` (e.g. `slack:`), keyed by what follows the prefix,
    with the scan day it was read for."""
    rows = await conn.fetch(
        "select source, cursor, synced_for from source_cursors where starts_with(source, $1)", prefix
    )
    return {r["source"][len(prefix) :]: (r["cursor"], r["synced_for"]) for r in rows}


# ---- webhooks ----------------------------------------------------------------------------------------------------


async def record_event(
    conn: asyncpg.Connection, tenant_id: str, vendor: str, event_id: str, kind: str, payload: dict[str, Any]
) -> bool:
    """Store a vendor event once: True the first time its ID is seen, False for a redelivery or a replay."""
    return bool(
        await conn.fetchval(
            """insert into webhook_events (tenant_id, vendor, event_id, type, payload) values ($1, $2, $3, $4, $5)
               on conflict do nothing returning true""",
            tenant_id,
            vendor,
            event_id,
            kind,
            payload,
        )
    )


async def put_stripe_secret(conn: asyncpg.Connection, tenant_id: str, ciphertext: bytes) -> None:
    await conn.execute(
        """insert into stripe_webhook_secrets (tenant_id, secret_ciphertext) values ($1, $2)
           on conflict (tenant_id) do update set secret_ciphertext = excluded.secret_ciphertext, updated_at = now()""",
        tenant_id,
        ciphertext,
    )


async def stripe_secret(conn: asyncpg.Connection) -> bytes | None:
    value: bytes | None = await conn.fetchval("select secret_ciphertext from stripe_webhook_secrets")
    return value
