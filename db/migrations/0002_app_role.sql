-- The application's role: no superuser, no BYPASSRLS, owns nothing, so every policy applies to it.
-- The password is set by the migrator from settings (see db/migrate.py).
do $$
begin
    if not exists (select from pg_roles where rolname = 'renewals_app') then
        create role renewals_app login nosuperuser nobypassrls nocreatedb nocreaterole;
    end if;
end $$;
grant usage on schema public to renewals_app;
grant select, insert, update on tenant_settings, connectors, customers, scan_runs, scan_customers,
    evidence, model_outputs, classifications, drafts, sent_emails, api_tokens to renewals_app;
grant select on tenants to renewals_app;
-- Append-only for the application too: no UPDATE or DELETE grant at all.
grant select, insert on diary_entries, audit_log to renewals_app;
grant execute on function app_active_tenants(), app_token_lookup(text) to renewals_app;
