-- A production API or worker never migrates (only `renewals migrate`, as the owner, does) and refuses to start on a
-- schema older than its code: it reads which migrations are applied, as renewals_app.
grant select on schema_migrations to renewals_app;
