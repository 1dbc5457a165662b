-- A void that requires a replacement is resolved by its replacement invoice, or, when the
-- replacement comes out empty (every event of the voided invoice is billed on another non-void
-- invoice since, and no fee day is left to bill), by a row here, written by the issue step of
-- the re-close with the reason (SPEC section 4, revised). A resolved void blocks no close.
create table if not exists billing.void_resolutions (
    invoice_number text primary key references billing.invoice_voids (invoice_number),
    tenant_id uuid not null,
    resolution text not null check (resolution in ('empty_replacement')),
    reason text not null check (length(btrim(reason)) > 0),
    resolved_at timestamptz not null,
    resolved_by text not null default session_user
);
comment on table billing.void_resolutions is
    'One row per void resolved without a replacement invoice (append-only, the close). Key invoice_number.';

grant select, insert on billing.void_resolutions to billing_transformer;
grant select on billing.void_resolutions to billing_renderer, billing_finance, billing_auditor;

alter table billing.void_resolutions enable row level security;
alter table billing.void_resolutions force row level security;
drop policy if exists readers_select_all on billing.void_resolutions;
create policy readers_select_all on billing.void_resolutions for select
    to billing_transformer, billing_renderer, billing_finance, billing_auditor using (true);
drop policy if exists transformer_insert on billing.void_resolutions;
create policy transformer_insert on billing.void_resolutions for insert to billing_transformer
    with check (true);

-- Tenants read tenant-facing relations only (SPEC section 5, revised): the internal tables the
-- migrations create are not readable by them at all (they showed a tenant no rows before).
revoke select on billing.invoice_documents, billing.invoice_outbox, billing.period_closes
    from billing_tenant;
