-- The tenants this database knows and has switched off: a worker start deletes only their report Schedules,
-- never those of a tenant it has never heard of (another stack's, on a shared Temporal server).
create or replace function app_deactivated_tenants() returns setof text
    language sql stable security definer set search_path = public as
    $$ select id from tenants where not active order by id $$;
grant execute on function app_deactivated_tenants() to renewals_app;
