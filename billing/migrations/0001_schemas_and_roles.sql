-- Schemas of the service and the group roles of SPEC section 5.
-- Roles are cluster-wide and NOLOGIN: people and processes log in with their own roles,
-- members of these groups (see docs/security.md).
do $$
declare
    group_role text;
begin
    foreach group_role in array array[
        'billing_loader', 'billing_transformer', 'billing_renderer',
        'billing_finance', 'billing_auditor', 'billing_tenant'
    ] loop
        if not exists (select 1 from pg_roles where rolname = group_role) then
            execute format('create role %I nologin', group_role);
        end if;
    end loop;
end
$$;

create schema if not exists raw;
comment on schema raw is 'Events exactly as landed by the loader; append-only.';
create schema if not exists ref;
comment on schema ref is 'Reference data imported by the CLI: accounts, tiers, tenant logins.';
create schema if not exists catalogue;
comment on schema catalogue is 'Finance catalogues (dbt seeds): pricing rules, operator costs, tier fees.';
create schema if not exists staging;
comment on schema staging is 'dbt staging models: one per source, cleaned and deduplicated.';
create schema if not exists intermediate;
comment on schema intermediate is 'dbt intermediate models: pricing resolution, proration, drafts.';
create schema if not exists billing;
comment on schema billing is 'What Finance, tenants and the renderer read: marts and issued invoices.';

-- The transformer (dbt) owns every model; it may create in its schemas and nowhere else.
grant usage, create on schema catalogue, staging, intermediate, billing to billing_transformer;
grant usage on schema raw, ref to billing_transformer;
grant usage on schema raw to billing_loader;
grant usage on schema billing, ref to billing_renderer;
grant usage on schema raw, ref, catalogue, staging, intermediate, billing
    to billing_finance, billing_auditor;
-- Tenants see billing relations (row-level security decides which rows) and the
-- intermediate tables behind the security_invoker views of billing.
grant usage on schema billing, intermediate to billing_tenant;
