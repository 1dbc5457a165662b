{#- A view, security_invoker: int_charges_priced's row-level security applies to the reader. -#}
{{ config(materialized='view') }}

with

-- The columns by name, not `select *`: tenants may read only some columns of
-- int_charges_priced (column privileges), and a view checks every column it names.
charges as (

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
    from {{ ref('int_charges_priced') }}
    -- Excluded events are Finance's decision, not a gap: the ledger shows them.
    where unpriced_reason is not null and unpriced_reason <> 'excluded'

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
