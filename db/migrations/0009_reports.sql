-- The daily health briefing and the weekly digest. What was computed is stored (and served by the API); the
-- Slack ts and the email claim make posting and mailing happen once, whatever retries follow.

-- Every paying customer a day's briefing covers, in chunks for the gather activities (like scan_customers).
create table briefing_customers (
    tenant_id   text not null references tenants(id),
    day         date not null,
    customer_id text not null,
    chunk_no    int not null,
    primary key (tenant_id, day, customer_id)
);
create index briefing_customers_chunk on briefing_customers (tenant_id, day, chunk_no);

-- One row per customer per briefing: the tier and the signal behind it. The renewal scan may read the latest.
create table health_snapshots (
    tenant_id      text not null references tenants(id),
    day            date not null,
    customer_id    text not null,
    tier           text not null check (tier in ('hot', 'warm', 'cold')),
    urgency        int not null,
    recommendation text not null,
    cites          text,
    source_ids     text[] not null,
    primary key (tenant_id, day, customer_id)
);

create table reports (
    tenant_id        text not null references tenants(id),
    kind             text not null check (kind in ('briefing', 'digest')),
    day              date not null,              -- the briefing's local day; the digest's Monday
    summary          jsonb not null,             -- counts and figures, each with its source-id chain
    text             text not null,              -- the plain-text rendering (email body, Slack fallback)
    blocks           jsonb not null,             -- Slack Block Kit
    channel          text,
    slack_ts         text,                       -- set once Slack accepted the post: never posted again
    post_error       text,
    posted_at        timestamptz,
    email_status     text check (email_status in ('sending', 'sent')),
    email_to         text[],
    email_message_id text,
    emailed_at       timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    primary key (tenant_id, kind, day)
);

do $$
declare t text;
begin
    foreach t in array array['briefing_customers', 'health_snapshots', 'reports'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format($p$create policy tenant_isolation on %I
                          using (tenant_id = current_setting('app.tenant_id', true))
                          with check (tenant_id = current_setting('app.tenant_id', true))$p$, t);
        execute format('grant select, insert, update on %I to renewals_app', t);
    end loop;
end $$;
