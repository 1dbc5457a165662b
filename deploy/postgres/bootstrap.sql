-- Role bootstrap of a managed PostgreSQL (RDS, Cloud SQL, ...) for the billing service.
-- Run once per database by the administrator login (the managed service's master user: it
-- needs CREATEROLE, not superuser), connected to the billing database; safe to run again:
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f deploy/postgres/bootstrap.sql
--
-- Then the migrations, as the migrator login:  BILLING_DATABASE_URL=<migrator> billing db migrate
--
-- Roles (docs/security.md):
--   billing_owner           NOLOGIN; owns the database, the schemas and every migrated object.
--   billing_break_glass     NOLOGIN; granted per incident for the audited break-glass.
--   billing_<component>     NOLOGIN group roles of migration 0001 (created here already, so the
--                           logins can join them before the first migration; 0001 skips them).
--   svc_billing_migrator    login that runs the migrations; its session role is billing_owner.
--   svc_billing_<component> one login per component, a member of its group role; no password
--                           here: Vault's database secrets engine sets and rotates it
--                           (static roles, deploy/vault/README.md).
--   tenant logins           deploy/postgres/tenant-login.sql, one per tenant.

do $$
declare
    name text;
begin
    if not exists (select 1 from pg_roles where rolname = 'billing_owner') then
        create role billing_owner nologin;
    end if;
    -- Opens issued tables for one transaction (billing.break_glass(), migration 0014); it is
    -- granted to a named person's login per incident, and revoked after (docs/security.md).
    if not exists (select 1 from pg_roles where rolname = 'billing_break_glass') then
        create role billing_break_glass nologin;
    end if;
    foreach name in array array[
        'billing_loader', 'billing_transformer', 'billing_renderer',
        'billing_finance', 'billing_auditor', 'billing_tenant'
    ] loop
        if not exists (select 1 from pg_roles where rolname = name) then
            execute format('create role %I nologin', name);
        end if;
    end loop;
    foreach name in array array[
        'svc_billing_migrator', 'svc_billing_loader', 'svc_billing_transformer',
        'svc_billing_renderer', 'svc_billing_auditor'
    ] loop
        if not exists (select 1 from pg_roles where rolname = name) then
            execute format('create role %I login noinherit', name);
        end if;
    end loop;
end
$$;

-- No login but these inherits anything by accident; each component inherits its group only.
alter role billing_owner nologin;
alter role svc_billing_migrator login noinherit;
alter role svc_billing_loader login inherit;
alter role svc_billing_transformer login inherit;
alter role svc_billing_renderer login inherit;
alter role svc_billing_auditor login inherit;

grant billing_owner to svc_billing_migrator;
-- Migration 0004 sets default privileges for role billing_transformer (what dbt will create):
-- only a member of that role may.
grant billing_transformer to billing_owner;
-- Everything the migrator creates is owned by billing_owner.
alter role svc_billing_migrator set role = 'billing_owner';
grant billing_loader to svc_billing_loader;
grant billing_transformer to svc_billing_transformer;
grant billing_renderer to svc_billing_renderer;
grant billing_auditor to svc_billing_auditor;
-- The transformer's dbt session switches to its group (profiles.yml role: billing_transformer).
alter role svc_billing_transformer set role = 'billing_transformer';
-- The administrator adds tenant logins (tenant-login.sql) into ref.tenant_logins.
do $$
begin
    execute format('grant billing_owner to %I', current_user);
end
$$;

do $$
begin
    execute format('alter database %I owner to billing_owner', current_database());
    execute format('revoke all on database %I from public', current_database());
    execute format(
        'grant connect on database %I to billing_loader, billing_transformer, billing_renderer, '
        'billing_finance, billing_auditor, billing_tenant',
        current_database());
    -- The migrator does not inherit the owner's rights (NOINHERIT): it connects on its own.
    execute format('grant connect on database %I to svc_billing_migrator', current_database());
end
$$;

-- Nobody creates objects in public (PostgreSQL 15+ does this by default; older need it).
revoke create on schema public from public;
