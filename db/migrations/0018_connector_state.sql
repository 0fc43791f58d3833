-- What the last attempts against a connector saw, kept where the activity sees the outcome: `state` is
-- connected | unreachable | rate_limited | credentials_rejected | rejected | error, `state_since` when it last
-- changed, so an operator reads "unreachable since 09:51". `status` stays connected | error (error whenever the
-- state is not connected) for the metrics and existing readers.
alter table connectors add column state text not null default 'connected';
alter table connectors add column state_since timestamptz not null default now();
update connectors set state = 'error' where status = 'error';
