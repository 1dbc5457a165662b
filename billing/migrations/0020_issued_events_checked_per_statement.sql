-- The events of an issued invoice are checked once per statement, not once per event (issue
-- 19, docs/security.md). A close appends about one row per billed event (10M a month at the
-- SPEC's scale); the deferred composite foreign key of migration 0013 queued one trigger
-- event per row and ran one index probe per row at commit, about 14 us per event, the largest
-- part of the issue step. The same rule, set-based: every appended event names an invoice
-- issued by this transaction, of the event's tenant, and one of that invoice's lines. The
-- issue step appends invoices, then lines, then events (macro issue_invoices). Deleting or
-- changing an issued invoice stays refused by the immutability triggers of migration 0014, so
-- nothing can later remove the invoice an event names.

alter table billing.issued_invoice_events
    drop constraint if exists issued_invoice_events_invoice_tenant_fkey;

create or replace function billing.check_events_of_issuing_transaction() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
declare
    wrong record;
begin
    select
        added.invoice_number,
        added.line_number,
        added.tenant_id,
        invoices.tenant_id as invoice_tenant_id,
        invoices.xmin as invoice_xmin,
        lines.line_number as found_line
    into wrong
    from (
        -- One row per line the statement's events name (a few per invoice), so the per-row
        -- work below runs per line, not per event.
        select invoice_number, line_number, tenant_id
        from added_rows
        group by invoice_number, line_number, tenant_id
    ) as added
    left join billing.issued_invoices as invoices
        on invoices.invoice_number = added.invoice_number
    left join billing.issued_invoice_lines as lines
        on
            lines.invoice_number = added.invoice_number
            and lines.line_number = added.line_number
    where
        invoices.invoice_number is null
        or invoices.tenant_id <> added.tenant_id
        or not billing.inserted_by_this_transaction(invoices.xmin)
        or lines.line_number is null
    limit 1;
    if not found then
        return null;
    end if;
    if wrong.invoice_tenant_id is null then
        raise exception 'issued invoice %: an event names it, but no such invoice was issued (the issue step appends the invoice and its lines before their events)',
            wrong.invoice_number
            using errcode = 'foreign_key_violation';
    elsif not billing.inserted_by_this_transaction(wrong.invoice_xmin) then
        raise exception 'issued invoice %: events can only be added by the transaction that issued it',
            wrong.invoice_number
            using errcode = 'check_violation';
    elsif wrong.invoice_tenant_id <> wrong.tenant_id then
        raise exception 'issued invoice %: an event of tenant % names an invoice of tenant %',
            wrong.invoice_number, wrong.tenant_id, wrong.invoice_tenant_id
            using errcode = 'foreign_key_violation';
    else
        raise exception 'issued invoice %: an event names line %, which the invoice does not have',
            wrong.invoice_number, wrong.line_number
            using errcode = 'foreign_key_violation';
    end if;
end
$$;
comment on function billing.check_events_of_issuing_transaction() is
    'Statement trigger of billing.issued_invoice_events: every appended event names a line of an '
    'invoice of its tenant issued by this transaction (one set-based check per statement).';

drop trigger if exists issued_invoice_events_in_issuing_transaction on billing.issued_invoice_events;
create trigger issued_invoice_events_in_issuing_transaction
    after insert on billing.issued_invoice_events
    referencing new table as added_rows
    for each statement execute function billing.check_events_of_issuing_transaction();
