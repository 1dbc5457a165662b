-- Tenant logins are the least trusted connections (SPEC section 5): no temporary tables, no
-- large objects, a statement timeout and a connection limit (docs/security.md).
--
-- TEMP is a privilege on the database that PUBLIC holds by default: it is taken from PUBLIC
-- and given back to the service groups (dbt's incremental models and the issue step use
-- temporary tables). Large objects can be created by anyone by default: the functions that
-- create or import them are taken from PUBLIC (no component uses large objects). The limits
-- are per login role (PostgreSQL does not inherit settings from a group), so they are set on
-- every login mapped in ref.tenant_logins, by a trigger for the logins mapped later.

-- Database privileges live in the cluster's catalog: CREATE DATABASE ... TEMPLATE does not
-- copy them, so a database cloned or restored from this one runs this function again.
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
end
$$;
revoke all on function meta.restrict_database_privileges() from public;
select meta.restrict_database_privileges();

do $$
begin
    -- Functions of pg_catalog belong to the bootstrap superuser: only a superuser revokes.
    if (select rolsuper from pg_roles where rolname = current_user) then
        revoke execute on function
            pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid),
            pg_catalog.lo_import(text), pg_catalog.lo_import(text, oid),
            pg_catalog.lo_from_bytea(oid, bytea)
        from public;
    else
        raise warning 'large objects stay creatable by every login: a superuser must run '
            '"revoke execute on function lo_creat(integer), lo_create(oid), lo_import(text), '
            'lo_import(text, oid), lo_from_bytea(oid, bytea) from public" (docs/security.md)';
    end if;
end
$$;

-- The limits of a tenant login. A mapped login must be a plain tenant login: a member of
-- billing_tenant, of no service group, not a superuser.
create or replace function ref.limit_tenant_login() returns trigger
    language plpgsql
    set search_path = pg_catalog
as $$
declare
    login record;
begin
    select rolname, rolsuper into login from pg_roles where rolname = new.login_role;
    if login.rolname is null then
        raise exception 'tenant login %: no such role; create it first (create role % login in role billing_tenant)',
            new.login_role, new.login_role
            using errcode = 'undefined_object';
    end if;
    if login.rolsuper
        or not pg_has_role(new.login_role, 'billing_tenant', 'MEMBER')
        or pg_has_role(new.login_role, 'billing_loader', 'MEMBER')
        or pg_has_role(new.login_role, 'billing_transformer', 'MEMBER')
        or pg_has_role(new.login_role, 'billing_renderer', 'MEMBER')
        or pg_has_role(new.login_role, 'billing_finance', 'MEMBER')
        or pg_has_role(new.login_role, 'billing_auditor', 'MEMBER')
        or pg_has_role(new.login_role, 'billing_owner', 'MEMBER')
    then
        raise exception 'tenant login %: a tenant login is a member of billing_tenant only, never a superuser or a service login',
            new.login_role
            using errcode = 'insufficient_privilege';
    end if;
    execute format('alter role %I connection limit 5', new.login_role);
    execute format('alter role %I set statement_timeout = %L', new.login_role, '30s');
    execute format(
        'alter role %I set idle_in_transaction_session_timeout = %L', new.login_role, '60s'
    );
    return null;
end
$$;
comment on function ref.limit_tenant_login() is
    'Sets the limits of a tenant login when it is mapped: 5 connections, statement_timeout '
    '30 s, idle_in_transaction_session_timeout 60 s.';

drop trigger if exists tenant_logins_limits on ref.tenant_logins;
create trigger tenant_logins_limits
    after insert or update of login_role on ref.tenant_logins
    for each row execute function ref.limit_tenant_login();

-- The logins mapped before this migration.
do $$
declare
    mapped record;
begin
    for mapped in
        select logins.login_role
        from ref.tenant_logins as logins
        inner join pg_roles as roles on roles.rolname = logins.login_role
    loop
        execute format('alter role %I connection limit 5', mapped.login_role);
        execute format('alter role %I set statement_timeout = %L', mapped.login_role, '30s');
        execute format(
            'alter role %I set idle_in_transaction_session_timeout = %L', mapped.login_role, '60s'
        );
    end loop;
end
$$;
