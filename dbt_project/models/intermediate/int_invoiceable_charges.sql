{#- A view: the drafts aggregate it once and the issue step reads it once more inside its
    transaction, so the event -> line map is computed from the same rule and never copied
    (10M rows written for nothing). The issue step refuses if anything it depends on changed
    since the drafts were built (int_period_close_status). -#}
{{ config(materialized='view') }}

with

priced_charges as (

    select * from {{ ref('int_charges_priced') }}
    where unpriced_reason is null and period <= {{ period_label() }}

),

billed_events as (

    select * from {{ ref('int_billed_events') }}

),

close_status as (

    select * from {{ ref('int_period_close_status') }}

),

voids_awaiting_replacement as (

    select * from {{ ref('int_voids_awaiting_replacement') }}
    where period = {{ period_label() }}

),

issued_invoice_events as (

    select * from {{ ref('stg_issued__invoice_events') }}

),

unbilled_charges as {{ inline_cte() }} (

    select priced_charges.*
    from priced_charges
    where
        not exists (
            select 1
            from billed_events
            where billed_events.event_id = priced_charges.event_id
        )

),

regular_charges as (

    select
        unbilled_charges.*,
        cast(null as {{ dbt.type_string() }}) as replaces_invoice_number
    from unbilled_charges
    where not (select close_status.is_closed from close_status)

),

replacement_charges as (

    select
        unbilled_charges.*,
        voids_awaiting_replacement.invoice_number as replaces_invoice_number
    from voids_awaiting_replacement
    inner join issued_invoice_events
        on voids_awaiting_replacement.invoice_number = issued_invoice_events.invoice_number
    inner join unbilled_charges
        on issued_invoice_events.event_id = unbilled_charges.event_id

),

invoiceable as (

    select * from regular_charges
    union all
    select * from replacement_charges

),

final as (

    select
        event_id,
        tenant_id,
        replaces_invoice_number,
        {{ period_label() }} as invoice_period,
        period as usage_period,
        rule_id,
        unit_price,
        segments
    from invoiceable

)

select * from final
