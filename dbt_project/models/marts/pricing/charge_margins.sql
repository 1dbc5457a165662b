{#- A view, security_invoker, internal: Finance's per-event costs and margins. Tenants get no
    access (billing_security revokes it) and int_charges_priced's cost columns are not
    granted to them. -#}
{{ config(materialized='view') }}

with

charges as (

    select * from {{ ref('int_charges_priced') }}
    where unpriced_reason is null

),

final as (

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
        amount,
        cost_id,
        unit_cost,
        cost_amount,
        margin,
        margin_pct
    from charges

)

select * from final
