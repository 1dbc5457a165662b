-- The pricing state each close issued from (issue 19): billing.period_closes.priced_through
-- is the newest priced_at of intermediate.int_charges_priced that the close's drafts were
-- built from (the event map's priced_through; null when the close billed no event, and for
-- the closes before this migration).
--
-- Why: the invoiceable rule (SPEC section 4, late usage) bills every priced event of a month
-- up to the one closed that is on no non-void issued invoice. Checking that against every
-- issued event made each close slower than the one before (an anti-join over all closed
-- months). After a first close of period P built from pricing state W, every priced event of
-- a month up to P with priced_at <= W is settled: the close billed it (a close issues every
-- invoiceable event, all or nothing), and an event whose invoice is voided later is priced
-- again by the next build (priced_at > W). So a close only checks against the issued events
-- the priced events of closed months priced after that mark (late usage, replacements), and
-- the months after every closed one are unbilled by construction (model
-- int_invoiceable_charges). The record is append-only like the rest of the table.

alter table billing.period_closes add column if not exists priced_through timestamp;

comment on column billing.period_closes.priced_through is
    'Newest priced_at of the priced events the drafts of this close were built from (null: no event billed, or closed before migration 0024).';
