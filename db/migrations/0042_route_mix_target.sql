-- The route-mix target bands as a tenant setting (issue #15): route -> [low, high], the share of a scan's accounts
-- each route is expected to take. The default is core.routing.TARGET_MIX; the API checks a tenant's own bands.
alter table tenant_settings
    add column route_mix_target jsonb not null
        default '{"TIER1": [0.60, 0.80], "TIER2": [0.15, 0.35], "TIER3": [0.02, 0.10]}'::jsonb
        check (jsonb_typeof(route_mix_target) = 'object');
