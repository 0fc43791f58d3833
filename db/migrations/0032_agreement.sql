-- Agreement between operators and the models, per tenant and route, for /metrics (issue 18): counts only, read
-- without opening row-level security. A decided draft agrees unless it was skipped with a reason that says the
-- verdict was wrong (the patterns are core.disagreement's, passed in so the rule lives in one place); an override
-- agrees when it sets the verdict the scan itself last reached.
create function app_agreement(p_save text, p_upsell text, p_days int)
returns table (tenant_id text, route text, source text, judged bigint, agreed bigint)
language sql stable security definer set search_path = public as $$
    select d.tenant_id, c.route, 'draft', count(*),
           count(*) filter (where not (d.status = 'skipped' and coalesce(d.skip_reason, '') ~*
                                       case d.kind when 'save' then p_save else p_upsell end))
      from drafts d
      join tenants t on t.id = d.tenant_id and t.active
      join classifications c on c.tenant_id = d.tenant_id and c.customer_id = d.customer_id and c.run_date = d.run_date
     where d.status in ('sent', 'skipped') and d.decided_at > now() - make_interval(days => p_days)
     group by d.tenant_id, c.route
    union all
    select o.tenant_id, c.route, 'override', count(*),
           count(*) filter (where case o.verdict when 'hold_standard' then 'standard' else o.verdict end
                                  = c.classification)
      from overrides o
      join tenants t on t.id = o.tenant_id and t.active
      join lateral (select k.route, k.classification from classifications k
                     where k.tenant_id = o.tenant_id and k.customer_id = o.customer_id
                       and k.run_date <= o.set_at::date order by k.run_date desc limit 1) c on true
     where o.set_at > now() - make_interval(days => p_days)
     group by o.tenant_id, c.route
$$;
grant execute on function app_agreement(text, text, int) to renewals_app;
