{#- A view, security_invoker: int_charges_priced's row-level security applies to the reader.
    Tenant-facing, so it has no cost or margin column (SPEC section 5): a tenant must never
    learn what the platform pays an operator. Finance reads those in charge_margins. -#}
{{ config(materialized='view') }}

with

-- The columns by name, not `select *`: tenants may read only these columns of
-- int_charges_priced (column privileges), and a view checks every column it names.
charges as (

    select
        event_id,
        tenant_id,
        occurred_at,
        period,
        account_tier,
        operator_id,
        direction,
        segments,
        currency,
        rule_id,
        unit_price,
        amount
    from {{ ref('int_charges_priced') }}
    where unpriced_reason is null

)

select * from charges
