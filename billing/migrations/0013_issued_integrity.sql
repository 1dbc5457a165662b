-- The database protects issued money by itself (issue 18, SPEC section 4): whatever role
-- writes, and however it writes, an issued invoice is only what one issue transaction of the
-- close can produce. Grants and policies say who may append; the keys, checks and triggers
-- here say what may be appended. Refusals name what is wrong (docs/security.md).
--
-- What the issue step (macro issue_invoices) does, in one transaction, and what is held to it:
-- it takes the period's advisory lock, appends the events of the new invoices, then the
-- invoices (numbers in order), then their lines, then the void resolutions and the one
-- period_closes row. Nothing can be added to an invoice after that transaction.

-- A line, an event and a document belong to their invoice's tenant (a line of another tenant
-- would be readable by that tenant). Events are appended before their invoices, so their key
-- is checked at commit.
alter table billing.issued_invoice_lines
    add constraint issued_invoice_lines_invoice_tenant_fkey
    foreign key (invoice_number, tenant_id)
    references billing.issued_invoices (invoice_number, tenant_id);
alter table billing.issued_invoice_events
    add constraint issued_invoice_events_invoice_tenant_fkey
    foreign key (invoice_number, tenant_id)
    references billing.issued_invoices (invoice_number, tenant_id)
    deferrable initially deferred;
alter table billing.invoice_documents
    add constraint invoice_documents_invoice_tenant_fkey
    foreign key (invoice_number, tenant_id)
    references billing.issued_invoices (invoice_number, tenant_id);

-- Amounts of an invoice are never negative: quantities and unit prices are not.
alter table billing.issued_invoices
    add constraint issued_invoices_subtotal_not_negative check (subtotal >= 0);
alter table billing.issued_invoice_lines
    add constraint issued_invoice_lines_amount_not_negative check (amount >= 0);

-- True when `row_xmin` is the current transaction (rows it inserted itself).
create or replace function billing.inserted_by_this_transaction(row_xmin xid) returns boolean
    language sql
    volatile
    set search_path = pg_catalog
as $$
    select row_xmin = pg_current_xact_id()::xid
$$;
comment on function billing.inserted_by_this_transaction(xid) is
    'True when a row''s xmin is the current transaction: the row was appended by it.';

-- An invoice as the issue step writes it: issued now, the next number of its period, in its
-- account's currency, a replacement only of a void that requires one.
create or replace function billing.check_issued_invoice() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
declare
    next_seq integer;
    account_currency text;
    original record;
begin
    if new.issued_at < now() or new.issued_at > clock_timestamp() then
        raise exception 'issued invoice %: issued_at % is not the time of its issuing transaction',
            new.invoice_number, new.issued_at
            using errcode = 'check_violation',
                hint = 'invoices are issued by the close (dbt run-operation issue_invoices), with issued_at = now()';
    end if;
    select coalesce(max(seq), 0) + 1 into next_seq
    from billing.issued_invoices where period = new.period;
    if new.seq <> next_seq then
        raise exception 'issued invoice %: number % of period % is not the next one (%): numbers are gapless',
            new.invoice_number, new.seq, new.period, next_seq
            using errcode = 'check_violation';
    end if;
    select currency into account_currency from ref.accounts where tenant_id = new.tenant_id;
    if account_currency is distinct from new.currency then
        raise exception 'issued invoice %: currency % is not the account''s (%)',
            new.invoice_number, new.currency, coalesce(account_currency, 'no account')
            using errcode = 'check_violation';
    end if;
    if new.replaces_invoice_number is not null then
        select invoices.tenant_id, invoices.period, voids.replacement into original
        from billing.issued_invoices as invoices
        left join billing.invoice_voids as voids
            on voids.invoice_number = invoices.invoice_number
        where invoices.invoice_number = new.replaces_invoice_number;
        if original.replacement is distinct from 'required' then
            raise exception 'issued invoice %: % is not void with a replacement required, so nothing may replace it',
                new.invoice_number, new.replaces_invoice_number
                using errcode = 'check_violation';
        end if;
        if original.tenant_id <> new.tenant_id or original.period <> new.period then
            raise exception 'issued invoice %: a replacement keeps the tenant and period of % (%)',
                new.invoice_number, new.replaces_invoice_number, original.period
                using errcode = 'check_violation';
        end if;
    end if;
    return new;
end
$$;
drop trigger if exists issued_invoices_check on billing.issued_invoices;
create trigger issued_invoices_check
    before insert on billing.issued_invoices
    for each row execute function billing.check_issued_invoice();

-- At commit: an invoice's totals are the sum of its lines, and its line count their number.
create or replace function billing.check_issued_invoice_totals() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
declare
    lines_found bigint;
    lines_sum numeric;
begin
    select count(*), coalesce(sum(amount), 0) into lines_found, lines_sum
    from billing.issued_invoice_lines where invoice_number = new.invoice_number;
    if lines_found <> new.line_count or lines_sum <> new.subtotal then
        raise exception 'issued invoice %: % lines summing to % do not match line_count % and subtotal %',
            new.invoice_number, lines_found, lines_sum, new.line_count, new.subtotal
            using errcode = 'check_violation';
    end if;
    return null;
end
$$;
drop trigger if exists issued_invoices_totals_are_the_lines on billing.issued_invoices;
create constraint trigger issued_invoices_totals_are_the_lines
    after insert on billing.issued_invoices
    deferrable initially deferred
    for each row execute function billing.check_issued_invoice_totals();

-- Lines only in the transaction that issued their invoice (checked once per statement).
create or replace function billing.check_lines_in_issuing_transaction() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
declare
    late text;
begin
    select added.invoice_number into late
    from added_lines as added
    inner join billing.issued_invoices as invoices
        on invoices.invoice_number = added.invoice_number
    where not billing.inserted_by_this_transaction(invoices.xmin)
    limit 1;
    if late is not null then
        raise exception 'issued invoice %: lines can only be added by the transaction that issued it',
            late
            using errcode = 'check_violation';
    end if;
    return null;
end
$$;
drop trigger if exists issued_invoice_lines_in_issuing_transaction on billing.issued_invoice_lines;
create trigger issued_invoice_lines_in_issuing_transaction
    after insert on billing.issued_invoice_lines
    referencing new table as added_lines
    for each statement execute function billing.check_lines_in_issuing_transaction();

-- Events likewise. The issue step appends them before their invoice: an invoice that does not
-- exist yet must then be inserted by this transaction (the deferred foreign key requires it).
create or replace function billing.check_events_in_issuing_transaction() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
declare
    late text;
begin
    select distinct added.invoice_number into late
    from added_events as added
    inner join billing.issued_invoices as invoices
        on invoices.invoice_number = added.invoice_number
    where not billing.inserted_by_this_transaction(invoices.xmin)
    limit 1;
    if late is not null then
        raise exception 'issued invoice %: events can only be recorded by the transaction that issued it',
            late
            using errcode = 'check_violation';
    end if;
    return null;
end
$$;
drop trigger if exists issued_invoice_events_in_issuing_transaction on billing.issued_invoice_events;
create trigger issued_invoice_events_in_issuing_transaction
    after insert on billing.issued_invoice_events
    referencing new table as added_events
    for each statement execute function billing.check_events_in_issuing_transaction();

-- A period_closes row describes the issue transaction it is written in: that transaction holds
-- the issue step's advisory lock of the period (pg_advisory_xact_lock(hashtext(
-- 'billing.issue_invoices'), YYYYMM)), its invoice_count is the number of invoices of the
-- period it issued, it is written now, and a replacement run follows the period's close.
create or replace function billing.check_period_close() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
declare
    issued_here bigint;
begin
    if not exists (
        select 1 from pg_locks
        where
            locktype = 'advisory'
            and pid = pg_backend_pid()
            and granted
            and classid = hashtext('billing.issue_invoices')::oid
            and objid = (replace(new.period, '-', '')::integer)::oid
            and objsubid = 2
    ) then
        raise exception 'period close %: only the issue step of the close records a close (it holds the period''s issue lock)',
            new.period
            using errcode = 'insufficient_privilege',
                hint = 'close the month with `billing close --month YYYY-MM`';
    end if;
    if new.closed_at < now() or new.closed_at > clock_timestamp() then
        raise exception 'period close %: closed_at % is not the time of its issuing transaction',
            new.period, new.closed_at
            using errcode = 'check_violation';
    end if;
    select count(*) into issued_here
    from billing.issued_invoices
    where period = new.period and billing.inserted_by_this_transaction(xmin);
    if issued_here <> new.invoice_count then
        raise exception 'period close %: invoice_count % but this transaction issued % invoices of the period',
            new.period, new.invoice_count, issued_here
            using errcode = 'check_violation';
    end if;
    if new.kind = 'replacement' then
        if not exists (
            select 1 from billing.period_closes where period = new.period and kind = 'close'
        ) then
            raise exception 'period close %: a replacement run of a month that was never closed',
                new.period
                using errcode = 'check_violation';
        end if;
        if issued_here = 0 and not exists (
            select 1 from billing.void_resolutions
            where billing.inserted_by_this_transaction(xmin)
        ) then
            raise exception 'period close %: a replacement run that issued and resolved nothing',
                new.period
                using errcode = 'check_violation';
        end if;
    end if;
    return new;
end
$$;
drop trigger if exists period_closes_from_the_issue_step on billing.period_closes;
create trigger period_closes_from_the_issue_step
    before insert on billing.period_closes
    for each row execute function billing.check_period_close();

-- Voids: only a Finance login, never a superuser (who would bypass every policy), in its own
-- name and at the time of the void. Column privileges leave voided_by and voided_at to their
-- defaults; the trigger backs them up for roles that bypass privileges.
revoke insert on billing.invoice_voids from billing_finance;
grant insert (invoice_number, tenant_id, reason, replacement) on billing.invoice_voids
    to billing_finance;

create or replace function billing.check_invoice_void() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
begin
    if exists (select 1 from pg_roles where rolname = session_user and rolsuper) then
        raise exception 'void of %: a superuser may not void; voids are reserved to members of billing_finance',
            new.invoice_number
            using errcode = 'insufficient_privilege';
    end if;
    if not pg_has_role(session_user, 'billing_finance', 'MEMBER') then
        raise exception 'void of %: login % is not a member of billing_finance; voids are reserved to them',
            new.invoice_number, session_user
            using errcode = 'insufficient_privilege';
    end if;
    if new.voided_by <> session_user
        or new.voided_at < now() or new.voided_at > clock_timestamp()
    then
        raise exception 'void of %: voided_by and voided_at are the login and the time of the void',
            new.invoice_number
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;
drop trigger if exists invoice_voids_check on billing.invoice_voids;
create trigger invoice_voids_check
    before insert on billing.invoice_voids
    for each row execute function billing.check_invoice_void();

-- Documents: a void notice only for a void invoice, stored under the invoice's own key
-- (invoices/YYYY/MM/NUMBER.pdf, NUMBER-void.pdf, NUMBER.json, NUMBER.csv; the store's
-- prefix before it is the backend's).
create or replace function billing.check_invoice_document() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
declare
    period text := substr(new.invoice_number, 5, 6);
    expected_key text;
begin
    if new.kind = 'void_notice' and not exists (
        select 1 from billing.invoice_voids where invoice_number = new.invoice_number
    ) then
        raise exception 'document of %: a void notice is only for a void invoice',
            new.invoice_number
            using errcode = 'check_violation';
    end if;
    expected_key := 'invoices/' || substr(period, 1, 4) || '/' || substr(period, 5, 2) || '/'
        || new.invoice_number
        || case new.kind
            when 'invoice' then '.pdf'
            when 'void_notice' then '-void.pdf'
            when 'invoice_json' then '.json'
            when 'invoice_csv' then '.csv'
        end;
    if right(new.uri, length(expected_key) + 1) <> '/' || expected_key then
        raise exception 'document of %: % is not where a % of it is stored (…/%)',
            new.invoice_number, new.uri, new.kind, expected_key
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;
drop trigger if exists invoice_documents_check on billing.invoice_documents;
create trigger invoice_documents_check
    before insert on billing.invoice_documents
    for each row execute function billing.check_invoice_document();
