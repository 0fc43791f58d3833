-- A report's Slack post is claimed before it is made, so two runs of one day (the Schedule's and one started by
-- hand) cannot both post. A claim older than three minutes is a crashed attempt's: the next one looks for its
-- message in the channel before posting.
alter table reports add column post_claimed_at timestamptz;
