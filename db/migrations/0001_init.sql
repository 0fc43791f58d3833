-- Renewal Manager: initial schema.
-- Every tenant-owned table carries tenant_id and a row-level-security policy keyed on the
-- transaction-local setting app.tenant_id; the application connects as renewals_app, a role
-- that owns nothing and so is always subject to the policies.

create table tenants (
    id          text primary key check (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name        text not null,
    timezone    text not null default 'UTC',
    active      boolean not null default true,
    created_at  timestamptz not null default now()
);

create table tenant_settings (
    tenant_id           text primary key references tenants(id),
    w_payment_history   numeric(6,4) not null default 0.35 check (w_payment_history between 0 and 1),
    w_usage_trend       numeric(6,4) not null default 0.30 check (w_usage_trend between 0 and 1),
    w_champion_status   numeric(6,4) not null default 0.20 check (w_champion_status between 0 and 1),
    w_support_sentiment numeric(6,4) not null default 0.15 check (w_support_sentiment between 0 and 1),
    window_min_days     int not null default 14,
    window_max_days     int not null default 90,
    daily_cost_cap_usd  numeric(10,4) not null default 0.05,
    crm                 text not null default 'none' check (crm in ('none', 'hubspot', 'salesforce')),
    slack_channel       text not null default '#fde',
    auto_send           jsonb not null default '{}'::jsonb,
    digest_recipients   text[] not null default '{}',
    updated_at          timestamptz not null default now(),
    constraint weights_sum_to_one check (
        abs(w_payment_history + w_usage_trend + w_champion_status + w_support_sentiment - 1.0) < 0.0001),
    constraint window_ordered check (0 <= window_min_days and window_min_days <= window_max_days)
);

-- One row per (tenant, connector). The secret is Fernet ciphertext; the key never reaches the database.
create table connectors (
    tenant_id         text not null references tenants(id),
    kind              text not null check (kind in ('stripe', 'hubspot', 'salesforce', 'slack', 'usage')),
    secret_ciphertext bytea,
    config            jsonb not null default '{}'::jsonb,
    status            text not null default 'connected',
    last_error        text,
    updated_at        timestamptz not null default now(),
    primary key (tenant_id, kind)
);

create table customers (
    tenant_id       text not null references tenants(id),
    id              text not null,             -- the Stripe customer id (cus_...)
    name            text not null,
    email           text,
    arr_cents       bigint not null default 0,
    contract        text,                      -- monthly | annual
    renewal_date    date,
    subscription_id text,
    status          text not null default 'active',
    links           jsonb not null default '{}'::jsonb,   -- CRM / Slack ids from Stripe metadata
    billing         jsonb not null default '{}'::jsonb,   -- the subscription as last read from Stripe
    last_scanned_at timestamptz,
    updated_at      timestamptz not null default now(),
    primary key (tenant_id, id)
);
create index customers_due on customers (tenant_id, renewal_date) where status in ('active', 'past_due', 'trialing');

-- One row per tenant per run date: what the scan is doing, for the API and for on-call.
create table scan_runs (
    tenant_id   text not null references tenants(id),
    run_date    date not null,
    status      text not null default 'running',     -- running | completed | failed
    due_count   int not null default 0,
    summary     jsonb not null default '{}'::jsonb,
    error       text,
    started_at  timestamptz not null default now(),
    finished_at timestamptz,
    primary key (tenant_id, run_date)
);

-- The due set of a run, frozen when it is first selected so that retries and re-runs see the same set.
create table scan_customers (
    tenant_id   text not null references tenants(id),
    run_date    date not null,
    customer_id text not null,
    chunk_no    int not null,
    route       text,
    batch_no    int,
    primary key (tenant_id, run_date, customer_id)
);
create index scan_customers_chunk on scan_customers (tenant_id, run_date, chunk_no);
create index scan_customers_batch on scan_customers (tenant_id, run_date, batch_no);

-- Evidence per customer per run per source; a re-gather of the same run replaces its own source's items.
create table evidence (
    tenant_id   text not null references tenants(id),
    customer_id text not null,
    run_date    date not null,
    source      text not null,
    items       jsonb not null default '[]'::jsonb,
    error       text,
    gathered_at timestamptz not null default now(),
    primary key (tenant_id, customer_id, run_date, source)
);

-- What a model proposed for a batch, before it is recorded (kept for audit and for the supervisor).
create table model_outputs (
    tenant_id   text not null references tenants(id),
    run_date    date not null,
    batch_no    int not null,
    stage       text not null,               -- worker | supervisor | tiebreaker | final
    model       text not null,
    output      jsonb not null,
    created_at  timestamptz not null default now(),
    primary key (tenant_id, run_date, batch_no, stage)
);

create table classifications (
    tenant_id          text not null references tenants(id),
    customer_id        text not null,
    run_date           date not null,
    classification     text not null check (classification in ('expansion', 'standard', 'at_risk', 'likely_churn')),
    severity           text not null check (severity in ('LOW', 'MEDIUM', 'HIGH')),
    score              numeric(8,4) not null,
    factors            jsonb not null,
    cited_source_ids   text[] not null,
    recommended_action text not null,
    abstain_reason     text,
    route              text not null,
    model              text not null,
    created_at         timestamptz not null default now(),
    primary key (tenant_id, customer_id, run_date)
);

-- The diary: one immutable paragraph per customer per run.
create table diary_entries (
    id               bigint generated always as identity primary key,
    tenant_id        text not null references tenants(id),
    customer_id      text not null,
    run_date         date not null,
    paragraph        text not null,
    cited_source_ids text[] not null,
    created_at       timestamptz not null default now(),
    unique (tenant_id, customer_id, run_date)
);

create table drafts (
    id             text primary key,          -- deterministic: tenant:customer:run_date
    tenant_id      text not null references tenants(id),
    customer_id    text not null,
    run_date       date not null,
    kind           text not null check (kind in ('save', 'upsell')),
    to_email       text not null,
    subject        text not null,
    body           text not null,
    anchors        text[] not null,
    status         text not null default 'pending' check (status in ('pending', 'sent', 'skipped')),
    decided_by     text,
    decided_at     timestamptz,
    skip_reason    text,
    workflow_id    text not null,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    unique (tenant_id, customer_id, run_date)
);
create index drafts_pending on drafts (tenant_id, status, created_at);

-- One row per draft: claimed before the SMTP conversation, marked sent after it.
create table sent_emails (
    draft_id      text primary key references drafts(id),
    tenant_id     text not null references tenants(id),
    message_id    text not null,
    status        text not null check (status in ('sending', 'sent', 'failed')),
    smtp_response text,
    claimed_at    timestamptz not null default now(),
    sent_at       timestamptz
);

create table audit_log (
    id        bigint generated always as identity primary key,
    tenant_id text not null references tenants(id),
    at        timestamptz not null default now(),
    actor     text not null,
    action    text not null,
    subject   text,
    detail    jsonb not null default '{}'::jsonb
);
create index audit_log_tenant on audit_log (tenant_id, at);

create table api_tokens (
    token_hash text primary key,               -- sha256 of the token; the token itself is shown once
    tenant_id  text not null references tenants(id),
    role       text not null check (role in ('operator', 'admin')),
    name       text not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);

-- Append-only tables: the database refuses UPDATE and DELETE, whoever asks.
create function refuse_change() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = 'insufficient_privilege';
end $$;
create trigger diary_append_only before update or delete on diary_entries
    for each row execute function refuse_change();
create trigger audit_append_only before update or delete on audit_log
    for each row execute function refuse_change();
create trigger diary_no_truncate before truncate on diary_entries
    for each statement execute function refuse_change();
create trigger audit_no_truncate before truncate on audit_log
    for each statement execute function refuse_change();

-- Row-level security on every tenant-owned table.
do $$
declare t text;
begin
    foreach t in array array['tenant_settings', 'connectors', 'customers', 'scan_runs', 'scan_customers',
                             'evidence', 'model_outputs', 'classifications', 'diary_entries', 'drafts',
                             'sent_emails', 'audit_log', 'api_tokens'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format($p$create policy tenant_isolation on %I
                          using (tenant_id = current_setting('app.tenant_id', true))
                          with check (tenant_id = current_setting('app.tenant_id', true))$p$, t);
    end loop;
end $$;
alter table tenants enable row level security;
alter table tenants force row level security;
create policy tenant_isolation on tenants using (id = current_setting('app.tenant_id', true));

-- The two questions asked before a tenant is known, answered without opening RLS:
-- which tenants to scan, and whose token this is.
create function app_active_tenants() returns setof text
    language sql stable security definer set search_path = public as
    $$ select id from tenants where active order by id $$;
create function app_token_lookup(p_hash text) returns table (tenant_id text, role text, name text)
    language sql stable security definer set search_path = public as
    $$ select tenant_id, role, name from api_tokens where token_hash = p_hash and revoked_at is null $$;
