"""The health briefing's customer list and snapshots, and the stored reports (briefing, digest) with their
post-once and mail-once state. Every function runs in a tenant transaction (RLS)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from core.health import Health
from schemas.workflow_io import ScanPlan


async def freeze_paying(conn: asyncpg.Connection, tenant_id: str, day: dt.date, chunk_size: int) -> ScanPlan:
    """Every paying customer, frozen at the first call for the day so a retry covers the same accounts."""
    await conn.execute(
        """
        insert into briefing_customers (tenant_id, day, customer_id, chunk_no)
        select tenant_id, $2, id, ((row_number() over (order by id)) - 1) / $3
          from customers
         where tenant_id = $1 and status in ('active', 'past_due', 'trialing') and arr_cents > 0
           and not exists (select 1 from briefing_customers where tenant_id = $1 and day = $2)
        on conflict do nothing""",
        tenant_id,
        day,
        chunk_size,
    )
    rows = await conn.fetch(
        """select chunk_no, count(*) n from briefing_customers where tenant_id = $1 and day = $2
                               group by chunk_no order by chunk_no""",
        tenant_id,
        day,
    )
    return ScanPlan(due=sum(r["n"] for r in rows), chunks=[r["chunk_no"] for r in rows])


async def briefing_ids(conn: asyncpg.Connection, tenant_id: str, day: dt.date) -> list[str]:
    return [
        r["customer_id"]
        for r in await conn.fetch(
            "select customer_id from briefing_customers where tenant_id = $1 and day = $2 order by customer_id",
            tenant_id,
            day,
        )
    ]


async def latest_verdicts(conn: asyncpg.Connection, day: dt.date, ids: list[str], days: int) -> list[asyncpg.Record]:
    """Each account's newest renewal verdict of the `days` up to `day`, with its diary entry's id."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        select distinct on (c.customer_id) c.customer_id, c.run_date, c.classification, c.severity,
               c.factors ->> 'pushed_by' pushed_by, d.id diary_id
          from classifications c join diary_entries d
            on d.tenant_id = c.tenant_id and d.customer_id = c.customer_id and d.run_date = c.run_date
         where c.customer_id = any($1::text[]) and c.run_date <= $2 and c.run_date > $2 - $3::int
         order by c.customer_id, c.run_date desc""",
        ids,
        day,
        days,
    )
    return rows


async def write_snapshots(
    conn: asyncpg.Connection,
    tenant_id: str,
    day: dt.date,
    accounts: list[tuple[Health, list[str]]],
    reader: str = "rules",
    notes: dict[str, str] | None = None,
) -> None:
    """The rules never overwrite the model's reading of the same day (a recomposed briefing keeps it)."""
    await conn.executemany(
        """
        insert into health_snapshots (tenant_id, day, customer_id, tier, urgency, recommendation, cites, source_ids,
                                      reader, note)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        on conflict (tenant_id, day, customer_id) do update
            set tier = excluded.tier, urgency = excluded.urgency, recommendation = excluded.recommendation,
                cites = excluded.cites, source_ids = excluded.source_ids, reader = excluded.reader,
                note = coalesce(excluded.note, health_snapshots.note)
          where excluded.reader <> 'rules' or health_snapshots.reader = 'rules'""",
        [
            (
                tenant_id,
                day,
                h.customer_id,
                h.tier,
                h.urgency,
                h.recommendation,
                h.cites,
                ids,
                reader,
                (notes or {}).get(h.customer_id),
            )
            for h, ids in accounts
        ],
    )


async def model_readings(conn: asyncpg.Connection, day: dt.date, ids: list[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        """select * from health_snapshots where day = $1 and reader <> 'rules'
                                and customer_id = any($2::text[])""",
        day,
        ids,
    )
    return {r["customer_id"]: r for r in rows}


async def read_by_model(conn: asyncpg.Connection, day: dt.date, ids: list[str]) -> set[str]:
    """The accounts the model has answered for today, kept or set aside: a retry does not ask (and pay) again."""
    return {
        r[0]
        for r in await conn.fetch(
            """select customer_id from health_snapshots where day = $1
                                                and customer_id = any($2::text[])
                                                and (reader <> 'rules' or note is not null)""",
            day,
            ids,
        )
    }


async def snapshots(conn: asyncpg.Connection, day: dt.date, tier: str | None = None) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        select s.*, c.name, c.arr_cents from health_snapshots s
          join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
         where s.day = $1 and ($2::text is null or s.tier = $2)
         order by s.urgency, c.arr_cents desc, s.customer_id""",
        day,
        tier,
    )
    return rows


async def week_verdicts(
    conn: asyncpg.Connection, since: dt.date, until: dt.date, held_reason: str
) -> list[asyncpg.Record]:
    """Every verdict of [since, until), each customer's newest first, with its diary paragraph; `held` marks one
    demoted for `held_reason`."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        select c.customer_id, cu.name, cu.arr_cents, c.classification, c.severity, c.run_date, c.cited_source_ids,
               d.paragraph, c.abstain_reason is not distinct from $3 held
          from classifications c
          join customers cu on cu.tenant_id = c.tenant_id and cu.id = c.customer_id
          left join diary_entries d on d.tenant_id = c.tenant_id and d.customer_id = c.customer_id
                                   and d.run_date = c.run_date
         where c.run_date >= $1 and c.run_date < $2
         order by c.customer_id, c.run_date desc""",
        since,
        until,
        held_reason,
    )
    return rows


async def save(
    conn: asyncpg.Connection,
    tenant_id: str,
    kind: str,
    day: dt.date,
    summary: dict[str, Any],
    text: str,
    blocks: list[dict[str, Any]],
    channel: str | None,
) -> None:
    """Store (or recompute) a report. Once posted, its content is what was posted: a rerun changes nothing."""
    await conn.execute(
        """
        insert into reports (tenant_id, kind, day, summary, text, blocks, channel) values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (tenant_id, kind, day) do update
            set summary = excluded.summary, text = excluded.text, blocks = excluded.blocks,
                channel = excluded.channel, updated_at = now()
          where reports.slack_ts is null and reports.email_status is null""",
        tenant_id,
        kind,
        day,
        summary,
        text,
        blocks,
        channel,
    )


async def get(conn: asyncpg.Connection, kind: str, day: dt.date) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from reports where kind = $1 and day = $2", kind, day)


async def listing(conn: asyncpg.Connection, kind: str | None, limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """select kind, day, summary, channel, slack_ts, post_error, email_status, email_to,
                                      created_at from reports
                                where $1::text is null or kind = $1 order by day desc, kind limit $2""",
        kind,
        limit,
    )
    return rows


POST_LEASE = dt.timedelta(minutes=3)  # an attempt gives up on Slack well before (activities.reports.POST_WITHIN)


async def claim_post(conn: asyncpg.Connection, kind: str, day: dt.date) -> dt.datetime | None:
    """Take the report's one Slack post; the claim's token, or None while another attempt holds a claim younger
    than POST_LEASE."""
    value: dt.datetime | None = await conn.fetchval(
        """
        update reports set post_claimed_at = clock_timestamp()
         where kind = $1 and day = $2 and slack_ts is null
           and (post_claimed_at is null or post_claimed_at < now() - $3::interval)
        returning post_claimed_at""",
        kind,
        day,
        POST_LEASE,
    )
    return value


async def posted(
    conn: asyncpg.Connection,
    kind: str,
    day: dt.date,
    ts: str | None,
    error: str | None,
    claim: dt.datetime | None = None,
) -> None:
    """Record the post's ts, or why there is none; a failed attempt releases its own claim (`claim`), never a
    later attempt's."""
    await conn.execute(
        """update reports set slack_ts = coalesce(slack_ts, $3), post_error = $4,
                                             posted_at = case when $3::text is null then posted_at else now() end,
                                             post_claimed_at = case when $3::text is null
                                                                     and post_claimed_at = $5 then null
                                                                    else post_claimed_at end
                           where kind = $1 and day = $2""",
        kind,
        day,
        ts,
        error,
        claim,
    )


async def claim_email(conn: asyncpg.Connection, kind: str, day: dt.date, to: list[str], message_id: str) -> str | None:
    """Claim the report's one email; returns the earlier state ('sending' or 'sent') if it was claimed before."""
    row = await conn.fetchrow("select email_status from reports where kind = $1 and day = $2 for update", kind, day)
    if row is None:
        raise LookupError(f"no {kind} stored for {day}")
    if row["email_status"] is not None:
        return str(row["email_status"])
    await conn.execute(
        """update reports set email_status = 'sending', email_to = $3, email_message_id = $4
                           where kind = $1 and day = $2""",
        kind,
        day,
        to,
        message_id,
    )
    return None


async def email_done(
    conn: asyncpg.Connection, kind: str, day: dt.date, sent: bool, to: list[str] | None = None
) -> None:
    """Sent (to `to`, those the server took): keep the claim for good. Not sent (refused before delivery):
    release it for the retry."""
    await conn.execute(
        """update reports set email_status = case when $3 then 'sent' end,
                                             emailed_at = case when $3 then now() end,
                                             email_to = coalesce($4, email_to)
                           where kind = $1 and day = $2""",
        kind,
        day,
        sent,
        to,
    )
