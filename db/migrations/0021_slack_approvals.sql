-- Approving from Slack: the tenant's Slack app signing secret (Fernet ciphertext, like connector secrets), and
-- which Slack user speaks for which operator token's identity. Admin-managed; a Slack user not listed is refused.
create table slack_approvals (
    tenant_id                 text primary key references tenants(id),
    signing_secret_ciphertext bytea not null,
    updated_at                timestamptz not null default now()
);
create table slack_operators (
    tenant_id     text not null references tenants(id),
    slack_user_id text not null,
    operator      text not null,  -- an operator token's name: its identity in the audit log
    created_at    timestamptz not null default now(),
    primary key (tenant_id, slack_user_id)
);
do $$
declare t text;
begin
    foreach t in array array['slack_approvals', 'slack_operators'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format($p$create policy tenant_isolation on %I
                          using (tenant_id = current_setting('app.tenant_id', true))
                          with check (tenant_id = current_setting('app.tenant_id', true))$p$, t);
        execute format('grant select, insert, update, delete on %I to renewals_app', t);
    end loop;
end $$;
