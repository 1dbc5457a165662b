{#- The event -> line map of the run's period's drafts (issue 19, ARCHITECTURE.md): one row per
    event the next issue step records in billing.issued_invoice_events, with its draft and
    line key, computed once by the build instead of again inside the issue transaction. Each
    row carries the state it was built from, the same as int_draft_usage_quantities (the
    drafts' usage): the issue step refuses the map unless both were built from one state and
    nothing was priced, issued, voided or excluded since. A full rebuild every build. -#}
{{ config(post_hook=["{{ refresh_statistics() }}"]) }}

with

invoiceable_charges as (

    select * from {{ ref('int_invoiceable_charges') }}

),

charges as (

    select * from {{ ref('int_charges_priced') }}

),

close_status as (

    select * from {{ ref('int_period_close_status') }}

),

pricing_state as (

    select max(charges.priced_at) as priced_through
    from charges

),

final as (

    select
        invoiceable_charges.event_id,
        invoiceable_charges.tenant_id,
        invoiceable_charges.replaces_invoice_number,
        invoiceable_charges.usage_period,
        invoiceable_charges.rule_id,
        invoiceable_charges.unit_price,
        invoiceable_charges.segments,
        close_status.period as invoice_period,
        close_status.last_close_id,
        close_status.void_count,
        close_status.last_exclusion_id,
        pricing_state.priced_through
    from invoiceable_charges
    cross join close_status
    cross join pricing_state

)

select * from final
