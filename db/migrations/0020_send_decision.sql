-- Send is a decision, then a delivery. The draft shows where it is: sending (decided, maybe in its undo window),
-- sent, or a delivery that failed (nothing went out) or is uncertain (the line dropped after DATA). An undone send
-- goes back to pending.
alter table drafts drop constraint drafts_status_check;
alter table drafts add constraint drafts_status_check
    check (status in ('pending', 'sending', 'sent', 'skipped', 'delivery_failed', 'delivery_uncertain'));
alter table drafts
    add column content_version   text,         -- hash of the subject and body the send decided on
    add column send_requested_at timestamptz,  -- when the decision was accepted (delivered latency starts here)
    add column undo_until        timestamptz,  -- the end of the undo window, while sending
    add column send_round        int not null default 0,  -- each undo or failed delivery opens a new send decision
    add column delivery_note     text;         -- what an operator should do about a failed or uncertain delivery

-- The ledger knows which attempt holds the claim and whether it reached DATA: an attempt killed before DATA
-- delivered nothing, so the next one may take the claim over; the old one, should it wake, cannot reach DATA.
alter table sent_emails
    add column attempt         text,
    add column data_started_at timestamptz;

alter table tenant_settings
    add column undo_window_seconds int not null default 10 check (undo_window_seconds between 0 and 300);

-- Drafts per status for /metrics, without opening row-level security: counts only.
create function app_draft_states() returns table (tenant_id text, status text, drafts bigint)
language sql stable security definer set search_path = public as $$
    select d.tenant_id, d.status, count(*) from drafts d join tenants t on t.id = d.tenant_id
     where t.active and d.status <> 'skipped' and d.status <> 'sent'
     group by d.tenant_id, d.status
$$;
grant execute on function app_draft_states() to renewals_app;
