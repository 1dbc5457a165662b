{#- A view, security_invoker: int_charges_priced's row-level security applies to the reader. -#}
{{ config(materialized='view') }}

with

charges as (

    select * from {{ ref('int_charges_priced') }}
    where unpriced_reason is not null

),

final as (

    select
        event_id,
        tenant_id,
        occurred_at,
        period,
        operator_id,
        direction,
        segments,
        currency,
        account_tier,
        unpriced_reason
    from charges

)

select * from final
