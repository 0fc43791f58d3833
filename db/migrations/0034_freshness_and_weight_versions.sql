-- Freshness: each source's limit in days, where the tenant set its own (core/freshness.DEFAULT_LIMITS elsewhere).
alter table tenant_settings add column freshness_days jsonb not null default '{}'::jsonb;

-- The tenant's weighting as it stood from `at`: the default weights (tenant_settings' w_*) and the segment profiles
-- in the order they are tried (core/profiles.py). A verdict cites the version that judged it, so a version is never
-- changed: a change is a new row. With no row yet, version 1 is the tenant's current weights and no profiles.
create table weight_versions (
    tenant_id       text not null references tenants(id),
    version         int not null check (version >= 1),
    at              timestamptz not null default now(),
    actor           text not null,
    default_weights jsonb not null,
    profiles        jsonb not null default '[]'::jsonb,
    primary key (tenant_id, version)
);
alter table weight_versions enable row level security;
alter table weight_versions force row level security;
create policy tenant_isolation on weight_versions
    using (tenant_id = current_setting('app.tenant_id', true))
    with check (tenant_id = current_setting('app.tenant_id', true));
grant select, insert on weight_versions to renewals_app;
create trigger weight_versions_append_only before update or delete on weight_versions
    for each row execute function refuse_change();
create trigger weight_versions_no_truncate before truncate on weight_versions
    for each statement execute function refuse_change();

-- Existing tenants start at version 1 with the weights they have.
insert into weight_versions (tenant_id, version, actor, default_weights)
select tenant_id, 1, 'migration', jsonb_build_object(
           'payment_history', w_payment_history, 'usage_trend', w_usage_trend,
           'champion_status', w_champion_status, 'support_sentiment', w_support_sentiment)
  from tenant_settings;

-- A change of the default weights, by whatever path, is a new version carrying the profiles forward (the first
-- change of a tenant created after this migration records its version 1, the weights it had, before it).
create function weight_versions_on_settings() returns trigger language plpgsql as $$
declare
    last weight_versions;
begin
    select * into last from weight_versions where tenant_id = new.tenant_id order by version desc limit 1;
    if not found then
        insert into weight_versions (tenant_id, version, actor, default_weights)
        values (old.tenant_id, 1, 'created', jsonb_build_object(
                    'payment_history', old.w_payment_history, 'usage_trend', old.w_usage_trend,
                    'champion_status', old.w_champion_status, 'support_sentiment', old.w_support_sentiment))
        returning * into last;
    end if;
    insert into weight_versions (tenant_id, version, actor, default_weights, profiles)
    values (new.tenant_id, last.version + 1, coalesce(nullif(current_setting('app.actor', true), ''), 'settings'),
            jsonb_build_object('payment_history', new.w_payment_history, 'usage_trend', new.w_usage_trend,
                               'champion_status', new.w_champion_status,
                               'support_sentiment', new.w_support_sentiment),
            last.profiles);
    return new;
end $$;
create trigger weight_versions_on_settings after update on tenant_settings for each row
    when ((old.w_payment_history, old.w_usage_trend, old.w_champion_status, old.w_support_sentiment)
          is distinct from (new.w_payment_history, new.w_usage_trend, new.w_champion_status, new.w_support_sentiment))
    execute function weight_versions_on_settings();
