{#- The events of invoices voided without replacement (a cancellation, SPEC section 4): written
    off by that void, never billed again (neither by a replacement nor as late usage). -#}
{{ config(materialized='view') }}

with

issued_invoice_events as (

    select * from {{ ref('stg_issued__invoice_events') }}

),

invoice_voids as (

    select * from {{ ref('stg_issued__invoice_voids') }}

),

written_off as (

    select
        issued_invoice_events.event_id,
        issued_invoice_events.tenant_id,
        issued_invoice_events.invoice_number,
        issued_invoice_events.line_number,
        invoice_voids.reason,
        invoice_voids.voided_by as written_off_by,
        invoice_voids.voided_at as written_off_at
    from issued_invoice_events
    inner join invoice_voids
        on issued_invoice_events.invoice_number = invoice_voids.invoice_number
    where invoice_voids.replacement = 'none'

)

select * from written_off
