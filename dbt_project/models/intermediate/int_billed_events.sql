{{ config(materialized='view') }}

with

issued_invoice_events as (

    select * from {{ ref('stg_issued__invoice_events') }}

),

invoice_voids as (

    select * from {{ ref('stg_issued__invoice_voids') }}

),

written_off_events as (

    select * from {{ ref('int_written_off_events') }}

),

billed as (

    select
        issued_invoice_events.event_id,
        issued_invoice_events.invoice_number,
        issued_invoice_events.line_number,
        'billed' as settlement
    from issued_invoice_events
    where
        not exists (
            select 1
            from invoice_voids
            where invoice_voids.invoice_number = issued_invoice_events.invoice_number
        )

),

-- A cancellation's events are settled too: never re-billed, never repriced.
settled as (

    select * from billed
    union all
    select
        written_off_events.event_id,
        written_off_events.invoice_number,
        written_off_events.line_number,
        'written_off' as settlement
    from written_off_events

)

select * from settled
