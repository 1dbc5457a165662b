{#- A view, security_invoker, internal (Finance, auditors; the ledger of issue 18 reads it). -#}
{{ config(materialized='view') }}

with

written_off_events as (

    select * from {{ ref('int_written_off_events') }}

),

final as (

    select
        event_id,
        tenant_id,
        invoice_number,
        line_number,
        reason,
        written_off_by,
        written_off_at
    from written_off_events

)

select * from final
