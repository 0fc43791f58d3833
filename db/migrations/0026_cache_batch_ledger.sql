-- The ledger keeps what a call's price rests on: prompt-cache writes and reads (priced at their own rates from
-- LiteLLM's table), and whether it ran through a vendor's batch API (half price).
alter table model_calls add column cache_write_tokens int not null default 0,
                        add column cache_read_tokens int not null default 0,
                        add column batched boolean not null default false;
