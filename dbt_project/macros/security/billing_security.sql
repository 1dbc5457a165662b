{#- Post-hook of every model (dbt_project.yml). SPEC section 5:
    - tables: row-level security enabled and FORCED (even the owner needs a policy), with
      policies per role and command: the transformer (owner, rebuilds them) all commands; the
      renderer, Finance and auditors read every row; tenants read their own rows of models
      whose meta says tenant_facing (column tenant_id), and no rows of any other model.
    - views: security_invoker, so the policies of the tables they read apply to the reader.
    - tenants (SPEC section 5, revised: they never learn what the platform pays): a model
      that is not tenant_facing (and grants tenants nothing in its `grants:`) is not readable
      by billing_tenant at all; a tenant_facing table whose meta lists `tenant_columns` is
      readable in those columns only (int_charges_priced: prices, not costs or margins).
    - open periods only: a table whose meta says open_periods_only (column period) shows no
      row of a closed period to any reader, whenever it was built: a restrictive policy on
      billing.period_is_closed (migration 0019). The preview relations (docs/preview.md).
    Runs inside the model's transaction, so no build leaves a table without its policies. -#}
{% macro billing_security() -%}
    {{ return(adapter.dispatch('billing_security', 'billing')()) }}
{%- endmacro %}

{% macro default__billing_security() -%}
    {#- Engines without row-level security rely on the warehouse's own grants. -#}
{%- endmacro %}

{% macro postgres__billing_security() -%}
    {%- set meta = model.config.get('meta', {}) -%}
    {%- set granted = (model.config.get('grants') or {}).get('select', []) -%}
    {%- set tenant_granted = 'billing_tenant' in granted -%}
    {%- if model.config.materialized == 'view' -%}
        alter view {{ this }} set (security_invoker = true)
        {%- if not meta.get('tenant_facing') and not tenant_granted -%}
        ;
        revoke select on {{ this }} from billing_tenant
        {%- endif %}
    {%- elif model.config.materialized in ('table', 'incremental') -%}
        alter table {{ this }} enable row level security;
        alter table {{ this }} force row level security;
        drop policy if exists transformer_all on {{ this }};
        create policy transformer_all on {{ this }} for all to billing_transformer
            using (true) with check (true);
        drop policy if exists readers_select_all on {{ this }};
        create policy readers_select_all on {{ this }} for select
            to billing_renderer, billing_finance, billing_auditor using (true);
        drop policy if exists open_periods_only on {{ this }};
        {%- if meta.get('open_periods_only') %}
        create policy open_periods_only on {{ this }} as restrictive for select to public
            using (not billing.period_is_closed(period));
        {%- endif %}
        drop policy if exists tenant_select_own on {{ this }};
        {%- if meta.get('tenant_facing') %}
        create policy tenant_select_own on {{ this }} for select to billing_tenant
            using (tenant_id = billing.current_tenant_id())
            {%- if meta.get('tenant_columns') -%}
            ;
        revoke select on {{ this }} from billing_tenant;
        grant select ({{ meta.get('tenant_columns') | join(', ') }}) on {{ this }} to billing_tenant
            {%- endif %}
        {%- elif not tenant_granted %}
        revoke select on {{ this }} from billing_tenant
        {%- endif %}
    {%- endif -%}
{%- endmacro %}
