-- On-call is told once per crossing: the state of each alert per tenant, flipped when the threshold is crossed.
alter table tenant_settings add column oncall_webhook text;
create table alert_state (
    tenant_id  text not null references tenants(id),
    kind       text not null,               -- validation_failure_rate | route_mix_drift
    active     boolean not null default false,
    changed_at timestamptz not null default now(),
    detail     text,
    primary key (tenant_id, kind)
);
alter table alert_state enable row level security;
alter table alert_state force row level security;
create policy tenant_isolation on alert_state
    using (tenant_id = current_setting('app.tenant_id', true))
    with check (tenant_id = current_setting('app.tenant_id', true));
grant select, insert, update on alert_state to renewals_app;
