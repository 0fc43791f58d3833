-- Incremental evidence (issue #14). Slack messages kept per channel (and the users.info of unstamped posters), fed by each scan's incremental read
-- (conversations.history with oldest = the channel's cursor in source_cursors) and by the Slack Events API; every
-- vendor event received, stored once by its ID (a redelivery or a replay is a no-op); the tenant's Stripe webhook
-- signing secret (Fernet ciphertext, like connector secrets; Slack's is slack_approvals'); and, per stored invoice,
-- when its newest copy was true (an event's `created`, a list read's time), so an event arriving late does not
-- overwrite a newer copy.
create table slack_messages (
    tenant_id text not null references tenants(id),
    channel   text not null,
    ts        text not null,
    body      jsonb not null,
    primary key (tenant_id, channel, ts)
);
create table slack_users (  -- users.info of posters whose messages carry no team stamp, asked once, not each scan
    tenant_id text not null references tenants(id),
    user_id   text not null,
    body      jsonb not null,
    primary key (tenant_id, user_id)
);
create table webhook_events (
    tenant_id   text not null references tenants(id),
    vendor      text not null,  -- slack | stripe
    event_id    text not null,
    type        text not null,
    payload     jsonb not null,
    received_at timestamptz not null default now(),
    primary key (tenant_id, vendor, event_id)
);
create table stripe_webhook_secrets (
    tenant_id         text primary key references tenants(id),
    secret_ciphertext bytea not null,
    updated_at        timestamptz not null default now()
);
alter table stripe_invoices add column seen_at bigint;
do $$
declare t text;
begin
    foreach t in array array['slack_messages', 'slack_users', 'webhook_events', 'stripe_webhook_secrets'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format($p$create policy tenant_isolation on %I
                          using (tenant_id = current_setting('app.tenant_id', true))
                          with check (tenant_id = current_setting('app.tenant_id', true))$p$, t);
        execute format('grant select, insert, update, delete on %I to renewals_app', t);
    end loop;
end $$;
