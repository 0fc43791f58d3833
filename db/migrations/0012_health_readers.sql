-- Who read each account's health: the rules, or the tenant's model (and why a model reading was set aside).
alter table health_snapshots add column reader text not null default 'rules';
alter table health_snapshots add column note text;
