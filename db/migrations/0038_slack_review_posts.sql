-- Approve from Slack: where a tenant's per-draft review messages go (off while null), the inbox address their
-- "Open in inbox" button opens, and one row per draft's message — claimed before it is posted (a retry finds the
-- claim, or the message by its metadata, and never posts twice), then the channel and ts that later edits use.
alter table slack_approvals alter column signing_secret_ciphertext drop not null;
alter table slack_approvals add column review_channel text, add column inbox_base_url text;
create table draft_review_posts (
    tenant_id   text not null references tenants(id),
    draft_id    text not null,
    claimed_at  timestamptz not null default clock_timestamp(),
    channel_id  text,
    ts          text,
    shown       text,  -- the draft status the message shows now
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, draft_id)
);
alter table draft_review_posts enable row level security;
alter table draft_review_posts force row level security;
create policy tenant_isolation on draft_review_posts
    using (tenant_id = current_setting('app.tenant_id', true))
    with check (tenant_id = current_setting('app.tenant_id', true));
grant select, insert, update on draft_review_posts to renewals_app;
