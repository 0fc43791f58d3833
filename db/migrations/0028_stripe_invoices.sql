-- A tenant's Stripe invoices, read for the whole tenant from one paginated list once per scan (issue #14) instead
-- of one list per customer; each chunk then reads its customers' invoices here. `body` is the invoice in Stripe's
-- wire format. source_cursors says how far each source's incremental read has got, and for which scan day.
create table stripe_invoices (
    tenant_id   text not null references tenants(id),
    invoice_id  text not null,
    customer_id text not null,
    created     bigint,  -- Stripe's epoch seconds (`created[gte]`); null: unreadable, kept so the scan names it
    status      text not null,
    body        jsonb not null,
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, invoice_id)
);
create index stripe_invoices_by_customer on stripe_invoices (tenant_id, customer_id, created);
create table source_cursors (
    tenant_id  text not null references tenants(id),
    source     text not null,  -- stripe_invoices | slack:<channel>
    cursor     text not null,  -- the source's own position: epoch seconds, a Slack ts
    synced_for date,           -- the scan day the read was made for
    updated_at timestamptz not null default now(),
    primary key (tenant_id, source)
);
do $$
declare t text;
begin
    foreach t in array array['stripe_invoices', 'source_cursors'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format($p$create policy tenant_isolation on %I
                          using (tenant_id = current_setting('app.tenant_id', true))
                          with check (tenant_id = current_setting('app.tenant_id', true))$p$, t);
        execute format('grant select, insert, update, delete on %I to renewals_app', t);
    end loop;
end $$;
