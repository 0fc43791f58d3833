-- Issue 13 item 1: before the fix, the usage connector's failures quoted the product database's own words
-- ("connector usage: the usage query failed: invalid input syntax for type integer: \"<another tenant's data>\""),
-- and they were stored where operators read them: the connector's last_error, each customer's usage evidence
-- error, and the scan's gather_errors and error. The fixed code keeps those words for admins in the audit log
-- under a reference and shows a fixed message. This does the same for what was stored before it: each leaked
-- text (per tenant) gets one reference, its driver words go to the audit log (GET /v1/connectors/errors/{ref}),
-- and every place that showed it shows the fixed message instead.
-- A migration, not a step in `renewals migrate`: it must run exactly once per database, before the new code serves,
-- in the same transaction as its record in schema_migrations (a rerun would find nothing to scrub anyway).

create temporary table usage_leaks (
    tenant_id text not null,
    leaked    text not null,
    what      text not null,
    driver    text not null,
    reference text not null,
    fixed     text not null,
    primary key (tenant_id, leaked)
) on commit drop;

with found (tenant_id, leaked) as (
    select tenant_id, last_error from connectors where kind = 'usage'
    union select tenant_id, error from evidence where source = 'usage'
    union select tenant_id, error from scan_runs
    union select s.tenant_id, substr(e.x, length('usage: ') + 1)
      from scan_runs s, jsonb_array_elements_text(
               case jsonb_typeof(s.summary -> 'gather_errors') when 'array' then s.summary -> 'gather_errors' end) e(x)
     where e.x like 'usage: %'
), parsed as (
    select tenant_id, leaked,
           regexp_match(leaked, '^connector usage: (the usage query failed|cannot connect to the product database): (.*)$')
               as m,
           'usage-' || substr(md5(random()::text || clock_timestamp()::text || leaked), 1, 12) as reference
      from found
     where leaked is not null
)
insert into usage_leaks (tenant_id, leaked, what, driver, reference, fixed)
select tenant_id, leaked, m[1], m[2], reference,
       format('connector usage: %s (reference %s; an admin can read the database''s own message with '
              'GET /v1/connectors/errors/%s)', m[1], reference, reference)
  from parsed
 where m is not null;

insert into audit_log (tenant_id, actor, action, subject, detail)
select tenant_id, 'migration 0037', 'connector.error', reference, jsonb_build_object('kind', 'usage', 'error', driver)
  from usage_leaks;

update connectors c set last_error = l.fixed
  from usage_leaks l where c.kind = 'usage' and c.tenant_id = l.tenant_id and c.last_error = l.leaked;

update evidence e set error = l.fixed
  from usage_leaks l where e.source = 'usage' and e.tenant_id = l.tenant_id and e.error = l.leaked;

update scan_runs s set error = l.fixed
  from usage_leaks l where s.tenant_id = l.tenant_id and s.error = l.leaked;

update scan_runs s
   set summary = jsonb_set(s.summary, '{gather_errors}', (
           select jsonb_agg(coalesce(to_jsonb('usage: ' || l.fixed), e.x) order by e.n)
             from jsonb_array_elements(s.summary -> 'gather_errors') with ordinality e(x, n)
             left join usage_leaks l on l.tenant_id = s.tenant_id and 'usage: ' || l.leaked = e.x #>> '{}'))
 where jsonb_typeof(s.summary -> 'gather_errors') = 'array'
   and exists (select 1 from usage_leaks l
                where l.tenant_id = s.tenant_id and s.summary -> 'gather_errors' ? ('usage: ' || l.leaked));
