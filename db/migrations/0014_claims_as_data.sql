-- Claims as data (issue 11). A draft keeps the template the model (or operator) wrote beside the rendered text
-- the customer receives; subject/body stay the rendered text, so every reader of a draft shows what is sent.
-- Rows written before templates have no template (null): their subject/body were free text.
alter table drafts add column template_subject text,
                   add column template_body text,
                   add column quotes_customer boolean not null default false;

-- The sender a customer sees, the signature every draft closes with, and the only commercial terms a draft may
-- offer: [{"name", "kind": discount|credit|price_hold|term, "maximum", "routes": [...], "verdicts": [...]}].
alter table tenant_settings add column sender_name text not null default '',
                            add column reply_to text,
                            add column signature text not null default '',
                            add column offers jsonb not null default '[]'::jsonb;
