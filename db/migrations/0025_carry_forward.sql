-- Carry-forward of unchanged accounts (issue #15): each verdict keeps the fingerprint of the evidence it read, and a
-- verdict carried forward without a model call names the run date of the model reading it repeats (the primary key
-- (tenant_id, customer_id, run_date) already finds a customer's latest verdict).
alter table classifications add column fingerprint text,
                            add column carried_from date;

-- Per-tenant cost and routing knobs (issue #15). carry_forward_days 0 turns carry-forward off.
alter table tenant_settings
    add column carry_forward_days int not null default 7 check (carry_forward_days between 0 and 30),
    add column tier3_arr_usd int not null default 50000 check (tier3_arr_usd >= 0),
    add column strong_signal numeric(4,3) not null default 0.4 check (strong_signal > 0 and strong_signal <= 1),
    -- How long a worker call may wait in a vendor's batch API (half price) before it is cancelled and made
    -- synchronously; 0: always synchronous.
    add column batch_wait_seconds int not null default 14400 check (batch_wait_seconds between 0 and 86400);
