{#- One row per billable event that could not be priced, with the reason. Any row of a
    month up to the one being closed blocks the close. Key: event_id. -#}
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
