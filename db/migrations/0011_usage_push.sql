-- Usage pushed over the API (POST /v1/usage) by tenants without a database the worker can read: the same
-- columns the usage query must return (connectors/usage.py), one row per customer per day.
create table usage_daily (
    tenant_id      text not null references tenants(id),
    customer_id    text not null,
    date           date not null,
    active_users   int not null check (active_users >= 0),
    logins         int not null check (logins >= 0),
    messages_sent  int not null check (messages_sent >= 0),
    agents_run     int not null check (agents_run >= 0),
    jobs_executed  int not null check (jobs_executed >= 0),
    error_count    int not null check (error_count >= 0),
    p95_latency_ms numeric(12,2) not null check (p95_latency_ms >= 0),
    licensed_seats int not null check (licensed_seats >= 0),
    received_at    timestamptz not null default now(),
    primary key (tenant_id, customer_id, date)
);
alter table usage_daily enable row level security;
alter table usage_daily force row level security;
create policy tenant_isolation on usage_daily
    using (tenant_id = current_setting('app.tenant_id', true))
    with check (tenant_id = current_setting('app.tenant_id', true));
grant select, insert, update on usage_daily to renewals_app;
