"""Drafts and the email ledger. All SQL for approvals lives here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg


async def get_draft(conn: asyncpg.Connection, draft_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from drafts where id = $1", draft_id)


async def claim_send(
    conn: asyncpg.Connection, tenant_id: str, draft_id: str, message_id: str, attempt: str | None = None
) -> tuple[str | None, str | None]:
    """Claim the one send a draft gets for this attempt. Returns (None, previous) when claimed now — previous is
    'sending' when an earlier attempt held the claim but never reached DATA (it was killed or stalled: nothing
    went out, so this one takes over) — else (the existing status, None)."""
    previous = await conn.fetchval("select status from sent_emails where draft_id = $1", draft_id)
    claimed = await conn.fetchval(
        """
        insert into sent_emails (draft_id, tenant_id, message_id, status, attempt)
        values ($1, $2, $3, 'sending', $4)
        on conflict (draft_id) do update set status = 'sending', claimed_at = now(), attempt = excluded.attempt,
                                             data_started_at = null
            where sent_emails.status = 'failed'
               or (sent_emails.status = 'sending' and sent_emails.data_started_at is null and $4::text is not null)
        returning true""",
        draft_id,
        tenant_id,
        message_id,
        attempt,
    )
    if claimed:
        return None, previous
    return await conn.fetchval("select status from sent_emails where draft_id = $1", draft_id), None


async def start_data(conn: asyncpg.Connection, draft_id: str, attempt: str) -> bool:
    """Record, before DATA, that this attempt is handing the message over. False: another attempt took the claim
    over, and this one must not send."""
    return bool(
        await conn.fetchval(
            """update sent_emails set data_started_at = now()
                where draft_id = $1 and attempt = $2 and status = 'sending' and data_started_at is null
            returning true""",
            draft_id,
            attempt,
        )
    )


async def release_send(conn: asyncpg.Connection, draft_id: str, error: str, attempt: str | None = None) -> None:
    """The SMTP server refused before accepting the message: nothing went out, so a retry may send. Given an
    attempt, only while that attempt still holds the claim (a stalled one must not free its successor's)."""
    await conn.execute(
        """update sent_emails set status = 'failed', smtp_response = $2
            where draft_id = $1 and ($3::text is null or attempt = $3)""",
        draft_id,
        error[:500],
        attempt,
    )


async def mark_sent(conn: asyncpg.Connection, draft_id: str, operator: str, response: str) -> None:
    await conn.execute(
        "update sent_emails set status = 'sent', sent_at = now(), smtp_response = $2 where draft_id = $1",
        draft_id,
        response[:500],
    )
    await conn.execute(
        """update drafts set status = 'sent', decided_by = $2, decided_at = now(), updated_at = now(),
                             undo_until = null, delivery_note = null where id = $1""",
        draft_id,
        operator,
    )


async def set_state(
    conn: asyncpg.Connection,
    draft_id: str,
    status: str,
    *,
    operator: str,
    content_version: str | None = None,
    undo_until: dt.datetime | None = None,
    note: str | None = None,
) -> None:
    """A delivery state the workflow decided. A send decision stamps its version and start; a return to a state
    that can be sent again (undone, failed) opens a new send round, so the next Send is a new decision."""
    await conn.execute(
        """
        update drafts set status = $2, delivery_note = $5, undo_until = $4, updated_at = now(),
               content_version = coalesce($3, content_version),
               send_requested_at = case when $2 = 'sending' then now() else send_requested_at end,
               decided_by = case when $2 = 'sending' then $6 else decided_by end,
               send_round = send_round + case when $2 in ('pending', 'delivery_failed') then 1 else 0 end
         where id = $1 and status <> 'skipped' and (status <> 'sent' or $2 = 'sent')""",
        draft_id,
        status,
        content_version,
        undo_until,
        note,
        operator,
    )


async def mark_skipped(conn: asyncpg.Connection, draft_id: str, operator: str, reason: str) -> None:
    await conn.execute(
        """update drafts set status = 'skipped', decided_by = $2, decided_at = now(), skip_reason = $3,
                          updated_at = now() where id = $1 and status in ('pending', 'delivery_failed')""",
        draft_id,
        operator,
        reason,
    )


async def update_content(
    conn: asyncpg.Connection,
    draft_id: str,
    subject: str,
    body: str,
    anchors: list[str],
    template_subject: str | None = None,
    template_body: str | None = None,
    quotes_customer: bool = False,
) -> None:
    """The rendered text the customer will get, and the template it was rendered from."""
    await conn.execute(
        """update drafts set subject = $2, body = $3, anchors = $4, template_subject = $5, template_body = $6,
                             quotes_customer = $7, updated_at = now()
                          where id = $1 and status in ('pending', 'delivery_failed')""",
        draft_id,
        subject,
        body,
        anchors,
        template_subject,
        template_body,
        quotes_customer,
    )


_INBOX = """
      from drafts d
      join classifications c on c.tenant_id = d.tenant_id and c.customer_id = d.customer_id
                            and c.run_date = d.run_date
      join customers cu on cu.tenant_id = d.tenant_id and cu.id = d.customer_id
     where d.tenant_id = $1 and d.status = $2
       and ($3::text is null or c.classification = $3) and ($4::text is null or c.severity = $4)
       and ($5::text is null or c.route = $5) and ($6::bigint is null or cu.arr_cents >= $6)
       and ($7::bigint is null or cu.arr_cents <= $7)"""


async def list_drafts(
    conn: asyncpg.Connection,
    tenant_id: str,
    status: str = "pending",
    limit: int = 50,
    offset: int = 0,
    *,
    classification: str | None = None,
    severity: str | None = None,
    route: str | None = None,
    min_arr_cents: int | None = None,
    max_arr_cents: int | None = None,
) -> list[asyncpg.Record]:
    # The page is chosen on narrow rows (ids and sort keys), then only its drafts are read whole: sorting every
    # matching draft with its body was most of the query's time (issue 17: 5 ms of 6 at 500 drafts).
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        with page as (
            select d.id, c.classification, c.severity, c.route, cu.name as customer_name, cu.arr_cents,
                   count(*) over () as total {_INBOX}
             order by c.severity = 'HIGH' desc, cu.arr_cents desc, d.id limit $8 offset $9)
        select d.*, p.classification, p.severity, p.route, p.customer_name, p.arr_cents, p.total
          from page p join drafts d on d.id = p.id
         order by p.severity = 'HIGH' desc, p.arr_cents desc, d.id""",
        tenant_id,
        status,
        classification,
        severity,
        route,
        min_arr_cents,
        max_arr_cents,
        limit,
        offset,
    )
    return rows


async def count_drafts(
    conn: asyncpg.Connection,
    tenant_id: str,
    status: str = "pending",
    *,
    classification: str | None = None,
    severity: str | None = None,
    route: str | None = None,
    min_arr_cents: int | None = None,
    max_arr_cents: int | None = None,
) -> int:
    """How many drafts `list_drafts` would page through with the same filters (each of its rows carries this as
    `total`; ask here only for a page past the end)."""
    value: int = await conn.fetchval(
        f"select count(*) {_INBOX}", tenant_id, status, classification, severity, route, min_arr_cents, max_arr_cents
    )
    return value


# Share of the last 24 hours' verdicts demoted for citing a source outside their bundle (null without verdicts):
# a scalar subquery, so the inbox's one alert query (db/alerts.py) can carry it.
VALIDATION_FAILURE_RATE = """(select (count(*) filter (where abstain_reason = 'source_validation_failed'))::float8
                                     / nullif(count(*), 0)
                                from classifications where created_at > now() - interval '24 hours')"""


async def validation_failure_rate(conn: asyncpg.Connection) -> float:
    """Share of the last 24 hours' verdicts demoted for citing a source outside their bundle."""
    return float(await conn.fetchval(f"select coalesce({VALIDATION_FAILURE_RATE}, 0)"))


async def draft_detail(conn: asyncpg.Connection, draft_id: str) -> asyncpg.Record | None:
    """A draft with its verdict (factor breakdown included) and its customer's name and ARR."""
    return await conn.fetchrow(
        """
        select d.*, c.classification, c.severity, c.route, c.factors, c.cited_source_ids, c.abstain_reason,
               cu.name as customer_name, cu.arr_cents
          from drafts d
          join classifications c on c.tenant_id = d.tenant_id and c.customer_id = d.customer_id
                                and c.run_date = d.run_date
          join customers cu on cu.tenant_id = d.tenant_id and cu.id = d.customer_id
         where d.id = $1""",
        draft_id,
    )


async def failed_send_claimed_at(conn: asyncpg.Connection, draft_id: str) -> dt.datetime | None:
    """When the draft's last send attempt was claimed, if that attempt failed before the SMTP server accepted
    anything (nothing went out, so the operator may press Send again)."""
    value: dt.datetime | None = await conn.fetchval(
        "select claimed_at from sent_emails where draft_id = $1 and status = 'failed'", draft_id
    )
    return value


async def sent_record(conn: asyncpg.Connection, draft_id: str) -> asyncpg.Record | None:
    """The draft's row in the email ledger (status, message id), if a send was ever claimed."""
    return await conn.fetchrow(
        "select status, message_id, claimed_at, sent_at, data_started_at from sent_emails where draft_id = $1",
        draft_id,
    )


def as_dict(r: asyncpg.Record) -> dict[str, Any]:
    return dict(r.items())


async def to_approve(conn: asyncpg.Connection, tenant_id: str, draft_ids: list[str]) -> list[asyncpg.Record]:
    """What starting each draft's approval needs: its workflow id, and what decides auto-send (the verdict, its
    severity and review flag, its notes, whether it quotes the customer, the ARR)."""
    return list(
        await conn.fetch(
            """
            select d.id, d.customer_id, d.workflow_id, c.classification, c.route, cu.arr_cents, c.severity,
                   c.needs_review, d.quotes_customer,
                   coalesce(jsonb_array_length(c.factors->'notes'), 0) > 0 as has_notes
              from drafts d
              join classifications c on c.tenant_id = d.tenant_id and c.customer_id = d.customer_id
                                    and c.run_date = d.run_date
              join customers cu on cu.tenant_id = d.tenant_id and cu.id = d.customer_id
             where d.tenant_id = $1 and d.id = any($2::text[])""",
            tenant_id,
            draft_ids,
        )
    )


async def decision_context(conn: asyncpg.Connection, draft_id: str) -> asyncpg.Record | None:
    """What a decision needs, in one round trip: the draft, its send round, a failed send's claim time (nothing
    went out, so a new press is a new decision) and the tenant's undo window."""
    return await conn.fetchrow(
        """
        select d.id, d.workflow_id, d.status, d.subject, d.body, d.send_round,
               coalesce(d.template_subject, d.subject) template_subject,
               coalesce(d.template_body, d.body) template_body,
               (select e.claimed_at from sent_emails e where e.draft_id = d.id and e.status = 'failed') failed_at,
               (select s.undo_window_seconds from tenant_settings s where s.tenant_id = d.tenant_id) undo_window
          from drafts d where d.id = $1""",
        draft_id,
    )
