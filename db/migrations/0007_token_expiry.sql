-- Tokens may expire; an expired token is refused like a revoked one.
alter table api_tokens add column expires_at timestamptz;
create or replace function app_token_lookup(p_hash text) returns table (tenant_id text, role text, name text)
    language sql stable security definer set search_path = public as
    $$ select tenant_id, role, name from api_tokens
        where token_hash = p_hash and revoked_at is null and (expires_at is null or expires_at > now()) $$;
