-- A tenant's login (template): run by the administrator login, after the migrations.
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -v login=acme_portal \
--        -v tenant_id=0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33 -f deploy/postgres/tenant-login.sql
--
-- The login sees its own rows of the tenant-facing relations and nothing else
-- (docs/security.md); set its password afterwards with `\password acme_portal` (never in a file).
begin;
create role :"login" login in role billing_tenant;
insert into ref.tenant_logins (login_role, tenant_id) values (:'login', :'tenant_id');
commit;
