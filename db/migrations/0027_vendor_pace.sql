-- One tenant's pace with one vendor, shared by every worker process (issue #14): `next_at` is the moment the
-- next request may go. A caller claims a slot with one statement (db/pacing.py) that moves `next_at` one interval
-- on and returns how long to wait, so two processes never spend the same slot and together keep the pace.
create table vendor_pace (
    tenant_id text not null references tenants(id),
    vendor    text not null,
    next_at   timestamptz not null,
    primary key (tenant_id, vendor)
);
alter table vendor_pace enable row level security;
alter table vendor_pace force row level security;
create policy tenant_isolation on vendor_pace
    using (tenant_id = current_setting('app.tenant_id', true))
    with check (tenant_id = current_setting('app.tenant_id', true));
grant select, insert, update on vendor_pace to renewals_app;
