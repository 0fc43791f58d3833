-- A deactivated tenant's tokens stop working at once, as its scans stop (app_active_tenants).
create or replace function app_token_lookup(p_hash text) returns table (tenant_id text, role text, name text)
    language sql stable security definer set search_path = public as
    $$ select t.tenant_id, t.role, t.name from api_tokens t join tenants n on n.id = t.tenant_id
        where t.token_hash = p_hash and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())
          and n.active $$;
