-- What each close was computed from, so that `billing verify` can recompute an issued month
-- long after the catalogue CSVs, the accounts or the tiers changed (issue 21,
-- docs/finance-tools.md).
--
-- 1. billing.close_inputs: per issue transaction (billing.period_closes), the exact rows of
--    every catalogue seed and of ref.accounts and ref.account_tiers the drafts were built
--    from, as jsonb (numbers stay exact numeric), with their count and a sha256 of their
--    canonical text. Append-only like the rest of the issued record (immutability triggers,
--    break-glass only: migration 0014).
-- 2. billing.period_closes: the rest of the state the drafts were built from: the last stream
--    sequence staged (the raw events read), the last close, the number of voids and the last
--    exclusion (the issue step refuses to issue if any of these changed since the build).
-- The issue step writes both in its transaction (macro issue_invoices). Closes issued before
-- this migration have neither, and cannot be verified.

alter table billing.period_closes
    add column if not exists through_stream_sequence bigint,
    add column if not exists built_after_close_id bigint,
    add column if not exists void_count bigint,
    add column if not exists last_exclusion_id bigint;

comment on column billing.period_closes.through_stream_sequence is
    'Last raw stream sequence staged when the drafts of this close were built (null: before migration 0026).';
comment on column billing.period_closes.built_after_close_id is
    'The last close issued when the drafts were built (0: none).';
comment on column billing.period_closes.void_count is
    'Voids recorded when the drafts were built.';
comment on column billing.period_closes.last_exclusion_id is
    'Last Finance exclusion (billing.event_exclusions) when the drafts were built (0: none).';

create table if not exists billing.close_inputs (
    close_id bigint not null references billing.period_closes (close_id),
    input text not null check (input in (
        'pricing_rules', 'operator_costs', 'tier_fees', 'operators', 'iso_4217_currencies',
        'accounts', 'account_tiers'
    )),
    row_count integer not null check (row_count >= 0),
    content_sha256 text not null check (content_sha256 ~ '^[0-9a-f]{64}$'),
    rows jsonb not null check (jsonb_typeof(rows) = 'array'),
    primary key (close_id, input)
);
comment on table billing.close_inputs is
    'Per close (billing.period_closes), the exact catalogue and reference rows its drafts were built from (append-only). Key (close_id, input).';

grant select, insert on billing.close_inputs to billing_transformer;
grant select on billing.close_inputs to billing_finance, billing_auditor;
revoke all on billing.close_inputs from billing_tenant;

alter table billing.close_inputs enable row level security;
alter table billing.close_inputs force row level security;
drop policy if exists readers_select_all on billing.close_inputs;
create policy readers_select_all on billing.close_inputs for select
    to billing_transformer, billing_finance, billing_auditor using (true);
drop policy if exists transformer_insert on billing.close_inputs;
create policy transformer_insert on billing.close_inputs for insert to billing_transformer
    with check (true);

-- Immutable like the issued record it explains (the break-glass can open it).
create or replace function billing.immutable_tables() returns text[]
    language sql
    immutable
    set search_path = pg_catalog
as $$
    select array[
        'billing.issued_invoices', 'billing.issued_invoice_lines',
        'billing.issued_invoice_events', 'billing.invoice_voids', 'billing.void_resolutions',
        'billing.period_closes', 'billing.invoice_documents', 'billing.invoice_outbox',
        'billing.close_inputs'
    ]
$$;

drop trigger if exists immutable_rows on billing.close_inputs;
create trigger immutable_rows before update or delete on billing.close_inputs
    for each row execute function billing.refuse_issued_change();
drop trigger if exists immutable_table on billing.close_inputs;
create trigger immutable_table before truncate on billing.close_inputs
    for each statement execute function billing.refuse_issued_change();
grant select, update, delete, truncate on billing.close_inputs to billing_break_glass;
drop policy if exists break_glass_all on billing.close_inputs;
create policy break_glass_all on billing.close_inputs for all to billing_break_glass
    using (true) with check (true);
