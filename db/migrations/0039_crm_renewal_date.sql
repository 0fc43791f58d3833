-- The CRM's renewal date (the renewal deal's or opportunity's close date), read once per scan before the due set
-- is frozen, so a monthly-billed annual contract is due by its contract date (issue #12). `crm_renewal_source`
-- names the CRM that read it (hubspot | salesforce): a CRM disconnected later clears only its own dates.
-- `renewal_date` stays the date the scan uses: the first of CRM, Stripe metadata and billing period end, in the
-- tenant's renewal_date_order.
alter table customers add column crm_renewal_date date;
alter table customers add column crm_renewal_source text;
