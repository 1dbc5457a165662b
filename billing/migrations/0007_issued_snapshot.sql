-- The issued record is a snapshot (SPEC section 4, revised): an issued invoice keeps what it
-- said at issue, so documents (the invoice, a later void notice, any re-render) read it and
-- never today's ref.accounts or today's settings. The issue step (macro issue_invoices) fills
-- every column below in its one transaction: the bill-to from ref.accounts, the issuer and the
-- tax statement from the close's settings (BILLING_ISSUER_*, BILLING_TAX_*), the payment terms
-- from the account and the due date from them, the currency's minor units from ISO 4217 and
-- a checksum per Finance catalogue it priced with.

alter table billing.issued_invoices
    add column if not exists bill_to_name text,
    add column if not exists bill_to_email text,
    add column if not exists bill_to_address text,
    add column if not exists bill_to_country char(2),
    add column if not exists bill_to_tax_id text,
    add column if not exists issuer_name text,
    add column if not exists issuer_address text,
    add column if not exists issuer_vat_id text,
    add column if not exists issuer_email text,
    add column if not exists payment_terms_days integer
        check (payment_terms_days between 0 and 365),
    add column if not exists due_date date,
    add column if not exists currency_minor_units integer
        check (currency_minor_units between 0 and 4),
    add column if not exists tax_statement text,
    add column if not exists tax_reason text,
    add column if not exists catalogue_versions jsonb;

comment on column billing.issued_invoices.bill_to_name is
    'The account''s name at issue (ref.accounts.name then); documents print this one.';
comment on column billing.issued_invoices.issuer_name is
    'Who issued the invoice (BILLING_ISSUER_NAME at issue); likewise issuer_address, _vat_id, _email.';
comment on column billing.issued_invoices.due_date is
    'The UTC date of issued_at plus payment_terms_days (the account''s terms at issue).';
comment on column billing.issued_invoices.currency_minor_units is
    'ISO 4217 minor units of the currency at issue: the places every amount is printed with.';
comment on column billing.issued_invoices.catalogue_versions is
    'Content checksum (md5) of each Finance catalogue the close priced with, by seed name.';

-- Invoices issued before this migration: the bill-to as ref.accounts holds it now (the best
-- record there is of what they said) and the two places every amount had then. Their issuer,
-- terms and tax statement stay unknown (null): their documents use the configured ones, as they
-- did when they were rendered.
update billing.issued_invoices as invoices
set
    bill_to_name = accounts.name,
    bill_to_email = accounts.billing_email
from ref.accounts as accounts
where accounts.tenant_id = invoices.tenant_id and invoices.bill_to_name is null;
update billing.issued_invoices set currency_minor_units = 2 where currency_minor_units is null;

-- How each usage line names its operator on the customer's documents (the Finance seed
-- catalogue.operators at issue); operator_id stays for Finance.
alter table billing.issued_invoice_lines
    add column if not exists operator_name text,
    add column if not exists operator_country char(2);

-- Beside each invoice PDF, the same invoice machine-readable: JSON and a CSV of its lines.
alter table billing.invoice_documents drop constraint if exists invoice_documents_kind_check;
alter table billing.invoice_documents add constraint invoice_documents_kind_check
    check (kind in ('invoice', 'void_notice', 'invoice_json', 'invoice_csv'));
