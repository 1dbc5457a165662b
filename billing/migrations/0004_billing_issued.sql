-- Tables the close, Finance and the renderer append to. They are dbt sources, never models:
-- no dbt run (not even --full-refresh) can rebuild them. Issued rows are never updated or
-- deleted; an invoice's status (issued | void) is derived from billing.invoice_voids.

-- The tenant of the current login, from ref.tenant_logins; null (no rows) when unmapped.
-- SECURITY DEFINER so tenants need no access to the mapping; session_user so that
-- SET ROLE or a custom setting cannot impersonate another tenant.
create or replace function billing.current_tenant_id() returns uuid
    language sql
    stable
    security definer
    set search_path = pg_catalog, ref
as $$
    select tenant_id from ref.tenant_logins where login_role = session_user
$$;
revoke all on function billing.current_tenant_id() from public;
grant execute on function billing.current_tenant_id() to billing_tenant;

create table if not exists billing.issued_invoices (
    invoice_number text primary key,
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    seq integer not null check (seq > 0),
    tenant_id uuid not null,
    currency char(3) not null,
    subtotal numeric(18, 2) not null,
    total numeric(18, 2) not null,
    line_count integer not null check (line_count > 0),
    issued_at timestamptz not null,
    replaces_invoice_number text references billing.issued_invoices (invoice_number),
    unique (period, seq),
    unique (invoice_number, tenant_id),
    check (invoice_number = 'INV-' || replace(period, '-', '') || '-' || lpad(seq::text, 6, '0')),
    check (total = subtotal)
);
-- One regular invoice per tenant and month; at most one replacement per voided invoice.
create unique index if not exists issued_invoices_one_regular_per_tenant_period
    on billing.issued_invoices (tenant_id, period) where replaces_invoice_number is null;
create unique index if not exists issued_invoices_one_replacement_per_void
    on billing.issued_invoices (replaces_invoice_number) where replaces_invoice_number is not null;
comment on table billing.issued_invoices is
    'One row per issued invoice (append-only). Key: invoice_number INV-YYYYMM-NNNNNN.';

create table if not exists billing.issued_invoice_lines (
    invoice_number text not null references billing.issued_invoices (invoice_number),
    line_number integer not null check (line_number > 0),
    tenant_id uuid not null,
    line_type text not null check (line_type in ('subscription', 'usage', 'late_usage')),
    description text not null,
    usage_period text not null,
    operator_id text,
    direction text,
    account_tier text not null,
    rule_id text,
    fee_id text,
    quantity bigint not null check (quantity >= 0),
    unit_price numeric(18, 6) not null check (unit_price >= 0),
    amount numeric(18, 2) not null,
    service_start date,
    service_end date,
    period_days integer,
    primary key (invoice_number, line_number),
    check ((line_type = 'subscription') = (fee_id is not null)),
    check ((line_type = 'subscription') = (rule_id is null))
);
comment on table billing.issued_invoice_lines is
    'One row per line of an issued invoice (append-only). Key: (invoice_number, line_number).';

create table if not exists billing.issued_invoice_events (
    event_id uuid not null,
    invoice_number text not null,
    line_number integer not null,
    tenant_id uuid not null,
    primary key (event_id, invoice_number)
);
comment on table billing.issued_invoice_events is
    'Which line of which issued invoice billed each event (append-only). Key: (event_id, invoice_number).';

create table if not exists billing.invoice_voids (
    invoice_number text primary key,
    tenant_id uuid not null,
    reason text not null check (length(btrim(reason)) > 0),
    replacement text not null check (replacement in ('required', 'none')),
    voided_by text not null default session_user,
    voided_at timestamptz not null default now(),
    foreign key (invoice_number, tenant_id)
        references billing.issued_invoices (invoice_number, tenant_id)
);
comment on table billing.invoice_voids is
    'One row per voided invoice (insert-only, Finance). The primary key refuses a second void.';

create table if not exists billing.period_closes (
    close_id bigint generated always as identity primary key,
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    kind text not null check (kind in ('close', 'replacement')),
    closed_at timestamptz not null,
    closed_by text not null default session_user,
    invoice_count integer not null,
    event_count bigint not null
);
create unique index if not exists period_closes_one_close_per_period
    on billing.period_closes (period) where kind = 'close';
comment on table billing.period_closes is
    'One row per issue transaction: the first close of a period, or a replacement run.';

create table if not exists billing.invoice_documents (
    invoice_number text not null references billing.issued_invoices (invoice_number),
    kind text not null check (kind in ('invoice', 'void_notice')),
    tenant_id uuid not null,
    uri text not null unique,
    sha256 char(64) not null,
    size_bytes bigint not null check (size_bytes > 0),
    content_type text not null default 'application/pdf',
    stored_at timestamptz not null default now(),
    primary key (invoice_number, kind)
);
comment on table billing.invoice_documents is
    'One row per stored document (invoice PDF or void notice): where it is and its sha256.';

create table if not exists billing.invoice_outbox (
    event_id uuid primary key,
    invoice_number text not null unique references billing.issued_invoices (invoice_number),
    subject text not null,
    payload jsonb not null,
    created_at timestamptz not null default now(),
    published_at timestamptz
);
comment on table billing.invoice_outbox is
    'billing.invoice.generated.v1 events, written with the document; published_at set once sent.';

-- Privileges: each writer appends to exactly what it writes.
grant select, insert on billing.issued_invoices, billing.issued_invoice_lines,
    billing.issued_invoice_events, billing.period_closes to billing_transformer;
grant select on billing.invoice_voids to billing_transformer, billing_renderer, billing_tenant;
grant select, insert on billing.invoice_voids to billing_finance;
grant select on billing.issued_invoices, billing.issued_invoice_lines,
    billing.issued_invoice_events to billing_renderer, billing_tenant;
grant select, insert on billing.invoice_documents to billing_renderer;
grant select, insert, update (published_at) on billing.invoice_outbox to billing_renderer;
grant select on billing.invoice_outbox to billing_renderer;
grant select on all tables in schema billing to billing_finance, billing_auditor;
grant select on billing.invoice_documents, billing.invoice_outbox, billing.period_closes
    to billing_tenant;

-- Tables dbt creates later are readable by the readers; row-level security (applied by the
-- dbt post-hook) decides which rows.
alter default privileges for role billing_transformer in schema billing, intermediate
    grant select on tables to billing_renderer, billing_finance, billing_auditor, billing_tenant;
alter default privileges for role billing_transformer in schema staging, catalogue
    grant select on tables to billing_finance, billing_auditor;
