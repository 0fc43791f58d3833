-- The briefing's cold accounts can be claimed from Slack ("Mine"); one still unclaimed `claim_escalate_minutes`
-- after the briefing was posted is escalated to the tenant's on-call webhook, once. Null: never escalated.
alter table tenant_settings add column claim_escalate_minutes int default 240
    check (claim_escalate_minutes between 1 and 1440);

-- One row per account of a day's briefing that was claimed or escalated (or both: claimed after escalation).
create table briefing_claims (
    tenant_id    text not null references tenants(id),
    day          date not null,
    customer_id  text not null,
    claimed_by   text,            -- the operator the Slack user is mapped to
    slack_user   text,
    claimed_at   timestamptz,
    escalated_at timestamptz,
    primary key (tenant_id, day, customer_id)
);
alter table briefing_claims enable row level security;
alter table briefing_claims force row level security;
create policy tenant_isolation on briefing_claims
    using (tenant_id = current_setting('app.tenant_id', true))
    with check (tenant_id = current_setting('app.tenant_id', true));
grant select, insert, update on briefing_claims to renewals_app;
