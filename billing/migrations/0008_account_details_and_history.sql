-- A customer record as accounts payable needs it (SPEC section 2, revised): optional postal
-- address, country (ISO 3166-1 alpha-2), tax id, and payment terms (days, default 30). The
-- import checks them (finance/reference.py); the checks here are the database's backstop.
alter table ref.accounts
    add column if not exists address text
        check (address is null or length(address) between 1 and 500),
    add column if not exists country char(2)
        check (country is null or country ~ '^[A-Z]{2}$'),
    add column if not exists tax_id text
        check (tax_id is null or length(tax_id) between 2 and 40),
    add column if not exists payment_terms_days integer not null default 30
        check (payment_terms_days between 0 and 365);

-- Every change of an account, kept: who, when, old -> new, one row per changed column. Written
-- by a trigger, so an import, a manual fix and any future path all leave their trace; nobody
-- may update or delete a row (no grant allows it).
create table if not exists ref.account_changes (
    change_id bigint generated always as identity primary key,
    tenant_id uuid not null references ref.accounts (tenant_id),
    column_name text not null,
    old_value text,
    new_value text,
    changed_by text not null default session_user,
    changed_at timestamptz not null default now()
);
create index if not exists account_changes_by_tenant on ref.account_changes (tenant_id, change_id);
comment on table ref.account_changes is
    'One row per changed column of ref.accounts (append-only): old_value -> new_value, by whom '
    '(the login, session_user) and when. An account''s first import has old_value null.';

-- SECURITY DEFINER: whoever may change an account leaves its history, without a grant on the
-- history table; changed_by stays the login (session_user is not changed by the definer).
create or replace function ref.record_account_changes() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, ref
as $$
begin
    insert into ref.account_changes (tenant_id, column_name, old_value, new_value)
    select new.tenant_id, fields.key, previous.value, fields.value
    from jsonb_each_text(to_jsonb(new)) as fields
    left join jsonb_each_text(coalesce(to_jsonb(old), '{}'::jsonb)) as previous
        on previous.key = fields.key
    where fields.key not in ('tenant_id', 'created_at', 'updated_at', 'updated_by')
        and previous.value is distinct from fields.value;
    return null;
end
$$;
revoke all on function ref.record_account_changes() from public;

drop trigger if exists accounts_keep_history on ref.accounts;
create trigger accounts_keep_history
    after insert or update on ref.accounts
    for each row execute function ref.record_account_changes();

-- The history of what is already there: one "first seen" row per account and column.
insert into ref.account_changes (tenant_id, column_name, old_value, new_value, changed_by, changed_at)
select accounts.tenant_id, fields.key, null, fields.value, accounts.updated_by, accounts.updated_at
from ref.accounts as accounts
cross join lateral jsonb_each_text(to_jsonb(accounts)) as fields
where fields.key not in ('tenant_id', 'created_at', 'updated_at', 'updated_by')
    and fields.value is not null
    and not exists (
        select 1 from ref.account_changes as changes where changes.tenant_id = accounts.tenant_id
    );

grant select on ref.account_changes to billing_finance, billing_auditor;
