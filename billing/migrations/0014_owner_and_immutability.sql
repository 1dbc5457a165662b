-- Issued records are immutable for every role, the owner included (SPEC section 4, revised),
-- apart from an audited break-glass (docs/security.md).
--
-- 1. The tables, views and functions of the migrations belong to billing_owner, a NOLOGIN role
--    that no component logs in as and no group role is a member of: no service login can
--    ALTER a table (NO FORCE ROW LEVEL SECURITY, DISABLE TRIGGER, DROP). The login that runs
--    the migrations (a deploy job, or a superuser) is the only member; migrate() hands each
--    new object of a later migration over to it (meta.hand_over_to_owner()).
-- 2. Triggers refuse UPDATE, DELETE and TRUNCATE on the issued tables whoever asks, a
--    superuser included; the outbox only gets its published mark.
-- 3. Break-glass: billing.break_glass(reason, tables), executable by members of
--    billing_break_glass only, records who, when and why in billing.break_glass_log and opens
--    the named tables for the rest of its own transaction; every row changed then is kept in
--    billing.break_glass_changes (before and after).

-- On a managed database both roles come from deploy/postgres/bootstrap.sql, and the migrator
-- runs as billing_owner already (its session role); locally (a superuser) they are made here.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'billing_owner') then
        create role billing_owner nologin;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'billing_break_glass') then
        create role billing_break_glass nologin;
    end if;
    -- A migrator that is neither a superuser nor the owner needs the owner's rights for the
    -- hand-over and for later migrations.
    if current_user <> 'billing_owner'
        and not (select rolsuper from pg_roles where rolname = current_user)
        and not pg_has_role(current_user, 'billing_owner', 'MEMBER')
    then
        execute format('grant billing_owner to %I', current_user);
    end if;
end
$$;

grant usage on schema raw, ref, billing to billing_owner;
grant usage on schema billing to billing_break_glass;

-- Hands the objects of schemas raw, ref and billing that the migrating login owns over to
-- billing_owner (dbt's models stay the transformer's). Run by migrate() after each migration.
create or replace function meta.hand_over_to_owner() returns integer
    language plpgsql
    set search_path = pg_catalog
as $$
declare
    item record;
    handed integer := 0;
begin
    if current_user = 'billing_owner' then
        return 0;  -- the migrator runs as the owner (deploy/postgres/bootstrap.sql)
    end if;
    for item in
        select
            case class.relkind
                when 'v' then 'view'
                when 'm' then 'materialized view'
                else 'table'
            end as kind,
            format('%I.%I', namespace.nspname, class.relname) as name
        from pg_class as class
        inner join pg_namespace as namespace on namespace.oid = class.relnamespace
        where
            namespace.nspname in ('raw', 'ref', 'billing')
            and class.relkind in ('r', 'p', 'v', 'm')
            and class.relowner = current_user::regrole
        union all
        select 'function', format('%I.%I(%s)', namespace.nspname, proc.proname,
            pg_get_function_identity_arguments(proc.oid))
        from pg_proc as proc
        inner join pg_namespace as namespace on namespace.oid = proc.pronamespace
        where
            namespace.nspname in ('raw', 'ref', 'billing')
            and proc.proowner = current_user::regrole
    loop
        execute format('alter %s %s owner to billing_owner', item.kind, item.name);
        handed := handed + 1;
    end loop;
    return handed;
end
$$;
revoke all on function meta.hand_over_to_owner() from public;

-- The audit trail of the break-glass.
create table if not exists billing.break_glass_log (
    break_glass_id bigint generated always as identity primary key,
    opened_by text not null default session_user,
    opened_at timestamptz not null default now(),
    reason text not null check (length(btrim(reason)) >= 10),
    tables text[] not null check (cardinality(tables) > 0),
    transaction_id xid8 not null default pg_current_xact_id()
);
comment on table billing.break_glass_log is
    'One row per break-glass (append-only): who (the login), when, why, which tables, in which '
    'transaction. Written only by billing.break_glass().';

create table if not exists billing.break_glass_changes (
    change_id bigint generated always as identity primary key,
    break_glass_id bigint not null references billing.break_glass_log (break_glass_id),
    table_name text not null,
    operation text not null check (operation in ('UPDATE', 'DELETE', 'TRUNCATE')),
    old_row jsonb,
    new_row jsonb,
    changed_by text not null default session_user,
    changed_at timestamptz not null default clock_timestamp()
);
comment on table billing.break_glass_changes is
    'One row per row changed (or table truncated) under a break-glass: before and after.';

alter table billing.break_glass_log enable row level security;
alter table billing.break_glass_log force row level security;
alter table billing.break_glass_changes enable row level security;
alter table billing.break_glass_changes force row level security;
grant select on billing.break_glass_log, billing.break_glass_changes
    to billing_finance, billing_auditor, billing_break_glass;
do $$
declare
    relation text;
begin
    foreach relation in array array['break_glass_log', 'break_glass_changes'] loop
        execute format('drop policy if exists readers_select_all on billing.%I', relation);
        execute format(
            'create policy readers_select_all on billing.%I for select '
            'to billing_finance, billing_auditor, billing_break_glass using (true)',
            relation);
        -- The SECURITY DEFINER functions below run as the owner: under FORCE it needs these.
        execute format('drop policy if exists owner_append on billing.%I', relation);
        execute format(
            'create policy owner_append on billing.%I for all to billing_owner '
            'using (true) with check (true)',
            relation);
    end loop;
end
$$;

-- The tables the break-glass can open: the issued record.
create or replace function billing.immutable_tables() returns text[]
    language sql
    immutable
    set search_path = pg_catalog
as $$
    select array[
        'billing.issued_invoices', 'billing.issued_invoice_lines',
        'billing.issued_invoice_events', 'billing.invoice_voids', 'billing.void_resolutions',
        'billing.period_closes', 'billing.invoice_documents', 'billing.invoice_outbox'
    ]
$$;

create or replace function billing.break_glass(reason text, tables text[]) returns bigint
    language plpgsql
    security definer
    set search_path = pg_catalog
as $$
declare
    opened bigint;
begin
    if not pg_has_role(session_user, 'billing_break_glass', 'MEMBER') then
        raise exception 'break-glass refused: login % is not a member of billing_break_glass',
            session_user
            using errcode = 'insufficient_privilege';
    end if;
    if reason is null or length(btrim(reason)) < 10 then
        raise exception 'break-glass refused: give the reason (ticket and what is corrected), 10 characters at least'
            using errcode = 'check_violation';
    end if;
    if tables is null or cardinality(tables) = 0
        or not tables <@ billing.immutable_tables()
    then
        raise exception 'break-glass refused: name the tables to open, among %',
            array_to_string(billing.immutable_tables(), ', ')
            using errcode = 'check_violation';
    end if;
    insert into billing.break_glass_log (reason, tables)
    values (btrim(reason), tables)
    returning break_glass_id into opened;
    perform set_config('billing.break_glass', opened::text, true);
    return opened;
end
$$;
revoke all on function billing.break_glass(text, text[]) from public;
grant execute on function billing.break_glass(text, text[]) to billing_break_glass;
comment on function billing.break_glass(text, text[]) is
    'Opens the named issued tables for the rest of the current transaction; logged '
    '(billing.break_glass_log). Members of billing_break_glass only.';

-- Refuses UPDATE, DELETE and TRUNCATE of an issued table, unless a break-glass of this very
-- transaction opened it; then the change is kept in billing.break_glass_changes.
create or replace function billing.refuse_issued_change() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog
as $$
declare
    relation text := tg_table_schema || '.' || tg_table_name;
    setting text := current_setting('billing.break_glass', true);
    opened bigint;
begin
    -- The renderer marks an outbox event published, once; nothing else of it changes.
    -- (Through jsonb: the other tables have no such column to name.)
    if relation = 'billing.invoice_outbox' and tg_op = 'UPDATE'
        and to_jsonb(old) ->> 'published_at' is null
        and to_jsonb(new) ->> 'published_at' is not null
        and to_jsonb(old) - 'published_at' = to_jsonb(new) - 'published_at'
    then
        return new;
    end if;
    if setting ~ '^[0-9]{1,18}$' then
        select break_glass_id into opened
        from billing.break_glass_log
        where
            break_glass_id = setting::bigint
            and transaction_id = pg_current_xact_id()
            and relation = any(tables);
    end if;
    if opened is null then
        raise exception '% of % refused: issued records are never changed, by any role (break-glass: docs/security.md)',
            tg_op, relation
            using errcode = 'insufficient_privilege';
    end if;
    insert into billing.break_glass_changes (break_glass_id, table_name, operation, old_row, new_row)
    values (
        opened, relation, tg_op,
        case when tg_level = 'ROW' then to_jsonb(old) end,
        case when tg_level = 'ROW' and tg_op = 'UPDATE' then to_jsonb(new) end
    );
    if tg_op = 'DELETE' then
        return old;
    end if;
    return new;
end
$$;
revoke all on function billing.refuse_issued_change() from public;

-- The audit trail itself is never changed, not even under a break-glass.
create or replace function billing.refuse_audit_change() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
begin
    raise exception '% of %.% refused: the break-glass audit trail is append-only',
        tg_op, tg_table_schema, tg_table_name
        using errcode = 'insufficient_privilege';
end
$$;

do $$
declare
    relation text;
begin
    foreach relation in array billing.immutable_tables() loop
        execute format('drop trigger if exists immutable_rows on %s', relation);
        execute format(
            'create trigger immutable_rows before update or delete on %s '
            'for each row execute function billing.refuse_issued_change()', relation);
        execute format('drop trigger if exists immutable_table on %s', relation);
        execute format(
            'create trigger immutable_table before truncate on %s '
            'for each statement execute function billing.refuse_issued_change()', relation);
        -- What a break-glass needs to correct a row; the triggers still decide.
        execute format('grant select, update, delete, truncate on %s to billing_break_glass', relation);
        execute format('drop policy if exists break_glass_all on %s', relation);
        execute format(
            'create policy break_glass_all on %s for all to billing_break_glass '
            'using (true) with check (true)', relation);
    end loop;
    foreach relation in array array['billing.break_glass_log', 'billing.break_glass_changes'] loop
        execute format('drop trigger if exists append_only_rows on %s', relation);
        execute format(
            'create trigger append_only_rows before update or delete on %s '
            'for each row execute function billing.refuse_audit_change()', relation);
        execute format('drop trigger if exists append_only_table on %s', relation);
        execute format(
            'create trigger append_only_table before truncate on %s '
            'for each statement execute function billing.refuse_audit_change()', relation);
    end loop;
end
$$;

-- Last: everything above and before belongs to billing_owner from now on.
select meta.hand_over_to_owner();
