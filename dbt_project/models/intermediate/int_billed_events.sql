{{ config(materialized='view') }}

with

issued_invoice_events as (

    select * from {{ ref('stg_issued__invoice_events') }}

),

invoice_voids as (

    select * from {{ ref('stg_issued__invoice_voids') }}

),

billed as (

    select
        issued_invoice_events.event_id,
        issued_invoice_events.invoice_number,
        issued_invoice_events.line_number
    from issued_invoice_events
    where
        not exists (
            select 1
            from invoice_voids
            where invoice_voids.invoice_number = issued_invoice_events.invoice_number
        )

)

select * from billed
