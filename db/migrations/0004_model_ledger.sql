-- Every model call, priced, per customer: the per-customer daily cost cap reads this before each call.
create table model_calls (
    id            bigint generated always as identity primary key,
    tenant_id     text not null references tenants(id),
    customer_id   text not null,
    run_date      date not null,
    batch_no      int not null,
    stage         text not null,              -- worker | supervisor | tiebreaker
    tier          text not null,
    model         text not null,
    input_tokens  int not null,
    output_tokens int not null,
    cost_usd      numeric(12,6) not null,
    created_at    timestamptz not null default now(),
    unique (tenant_id, customer_id, run_date, batch_no, stage)
);
create index model_calls_day on model_calls (tenant_id, customer_id, created_at);
alter table model_calls enable row level security;
alter table model_calls force row level security;
create policy tenant_isolation on model_calls
    using (tenant_id = current_setting('app.tenant_id', true))
    with check (tenant_id = current_setting('app.tenant_id', true));
grant select, insert on model_calls to renewals_app;

-- A verdict that needs a human (all three models disagreed) is marked so the inbox can show it.
alter table classifications add column needs_review boolean not null default false;

-- Which model answers for each role ({"TIER1": "anthropic:claude-haiku-4-5", "SUPERVISOR": ...}); a role left
-- out, or whose vendor has no key, is answered by the offline model.
alter table tenant_settings add column models jsonb not null default '{}'::jsonb;
-- Model vendors' keys are connector secrets like any other: encrypted, per tenant, never in history.
alter table connectors drop constraint connectors_kind_check;
alter table connectors add constraint connectors_kind_check
    check (kind in ('stripe', 'hubspot', 'salesforce', 'slack', 'usage', 'anthropic', 'openai', 'google', 'litellm'));
