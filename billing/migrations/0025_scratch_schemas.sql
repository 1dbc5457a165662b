-- Scratch schemas for Finance's what-if runs (issue 21, docs/finance-tools.md): the close's own
-- dbt models built again with proposed catalogues, in a schema of their own that is dropped
-- afterwards, so no run ever writes a relation of raw, ref, catalogue, staging, intermediate
-- or billing.
--
-- The transformer cannot create schemas (it has no CREATE on the database, by design): it
-- asks for one through billing.create_scratch_schema, which creates only a schema named
-- scratch_<letters, digits, _> and gives the transformer USAGE and CREATE in it, and
-- billing.drop_scratch_schema drops only such a schema, with everything in it. Both run as
-- billing_owner (SECURITY DEFINER; migrate() hands them over), which owns the database on a
-- managed server (deploy/postgres/bootstrap.sql) and is given CREATE on it here otherwise.

-- Database privileges live in the cluster's catalog (migration 0015): the function that a
-- database cloned or restored from this one runs again now also gives the owner CREATE.
create or replace function meta.restrict_database_privileges() returns void
    language plpgsql
    set search_path = pg_catalog
as $$
begin
    execute format('revoke temporary on database %I from public', current_database());
    execute format(
        'grant temporary on database %I to billing_loader, billing_transformer, '
        'billing_renderer, billing_finance, billing_auditor',
        current_database());
    if not has_database_privilege('billing_owner', current_database(), 'CREATE') then
        execute format('grant create on database %I to billing_owner', current_database());
    end if;
end
$$;
revoke all on function meta.restrict_database_privileges() from public;
select meta.restrict_database_privileges();

create or replace function billing.create_scratch_schema(schema_name text) returns text
    language plpgsql
    security definer
    set search_path = pg_catalog
as $$
begin
    if schema_name !~ '^scratch_[a-z0-9_]{1,50}$' then
        raise exception 'not a scratch schema name: % (scratch_ followed by lower-case letters, digits and _)', schema_name
            using errcode = 'invalid_parameter_value';
    end if;
    execute format('create schema %I', schema_name);
    execute format('grant usage, create on schema %I to billing_transformer', schema_name);
    return schema_name;
end
$$;
comment on function billing.create_scratch_schema(text) is
    'Creates schema scratch_* for one what-if run, usable by billing_transformer (issue 21).';

create or replace function billing.drop_scratch_schema(schema_name text) returns boolean
    language plpgsql
    security definer
    set search_path = pg_catalog
as $$
begin
    if schema_name !~ '^scratch_[a-z0-9_]{1,50}$' then
        raise exception 'not a scratch schema name: % (only scratch_* schemas are dropped)', schema_name
            using errcode = 'invalid_parameter_value';
    end if;
    if not exists (select 1 from pg_namespace where nspname = schema_name) then
        return false;
    end if;
    execute format('drop schema %I cascade', schema_name);
    return true;
end
$$;
comment on function billing.drop_scratch_schema(text) is
    'Drops a scratch_* schema of a what-if run with everything in it (issue 21).';

revoke all on function billing.create_scratch_schema(text) from public;
revoke all on function billing.drop_scratch_schema(text) from public;
grant execute on function billing.create_scratch_schema(text) to billing_transformer;
grant execute on function billing.drop_scratch_schema(text) to billing_transformer;
