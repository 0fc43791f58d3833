-- Aggregates for /metrics, per tenant, without opening row-level security: counts only, no customer data.
create function app_metrics() returns table (
    tenant_id text, drafts_waiting bigint, approval_p50_seconds float8, validation_failure_rate float8,
    model_spend_24h float8, route_mix jsonb, connectors_in_error text[])
language sql stable security definer set search_path = public as $$
    select t.id,
           (select count(*) from drafts d where d.tenant_id = t.id and d.status = 'pending'),
           (select percentile_cont(0.5) within group (order by extract(epoch from d.decided_at - d.created_at))
              from drafts d where d.tenant_id = t.id and d.decided_at > now() - interval '7 days'),
           (select (count(*) filter (where c.abstain_reason = 'source_validation_failed'))::float8
                   / nullif(count(*), 0)
              from classifications c where c.tenant_id = t.id and c.created_at > now() - interval '24 hours'),
           (select sum(m.cost_usd)::float8 from model_calls m
             where m.tenant_id = t.id and m.created_at > now() - interval '24 hours'),
           (select s.summary -> 'route_mix' from scan_runs s
             where s.tenant_id = t.id and s.status = 'completed' order by s.run_date desc limit 1),
           (select array_agg(k.kind) from connectors k where k.tenant_id = t.id and k.status = 'error')
      from tenants t where t.active
$$;
grant execute on function app_metrics() to renewals_app;
