-- The operator surface needs one index.

-- The inbox computes the rolling 24-hour validation-failure rate on every request; without this it would read
-- every classification the tenant ever had.
create index if not exists classifications_recent on classifications (tenant_id, created_at);
