-- Operator overrides (issue 18): an operator sets a customer's verdict (or holds it at standard) with a reason and
-- an expiry. The row is the override's current state; its history (set, cleared, lapsed) is in diary_notes and the
-- audit log, both append-only. known_signals: the strong signals (kind|source id) the customer's evidence already
-- held when it was set, so only a NEW payment failure, cancel at period end or champion departure lapses it early.
create table overrides (
    id            bigint generated always as identity primary key,
    tenant_id     text not null references tenants(id),
    customer_id   text not null,
    verdict       text not null check (verdict in ('expansion', 'standard', 'at_risk', 'likely_churn',
                                                   'hold_standard')),
    reason        text not null check (length(btrim(reason)) > 0),
    expires_on    date not null,
    set_by        text not null,
    set_at        timestamptz not null default now(),
    known_signals text[] not null default '{}',
    ended_at      timestamptz,
    ended_by      text,
    end_reason    text,             -- cleared | expired | strong_signal: <kind> <source id>
    notified      boolean not null default false
);
-- At most one override holds per customer at a time.
create unique index overrides_one_open on overrides (tenant_id, customer_id) where ended_at is null;

-- The diary's operator lines: the override set, cleared or lapsed, beside the one paragraph per run in
-- diary_entries (which stays one per customer per run, as every join on it assumes).
create table diary_notes (
    id          bigint generated always as identity primary key,
    tenant_id   text not null references tenants(id),
    customer_id text not null,
    at          timestamptz not null default now(),
    kind        text not null,      -- override.set | override.cleared | override.lapsed
    actor       text not null,
    paragraph   text not null,
    detail      jsonb not null default '{}'::jsonb
);
create index diary_notes_customer on diary_notes (tenant_id, customer_id, at);
create trigger diary_notes_append_only before update or delete on diary_notes
    for each row execute function refuse_change();
create trigger diary_notes_no_truncate before truncate on diary_notes
    for each statement execute function refuse_change();

do $$
declare t text;
begin
    foreach t in array array['overrides', 'diary_notes'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format($p$create policy tenant_isolation on %I
                          using (tenant_id = current_setting('app.tenant_id', true))
                          with check (tenant_id = current_setting('app.tenant_id', true))$p$, t);
    end loop;
end $$;
grant select, insert, update on overrides to renewals_app;
grant select, insert on diary_notes to renewals_app;
