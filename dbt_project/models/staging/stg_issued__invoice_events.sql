with

issued_invoice_events as (

    select * from {{ source('issued', 'issued_invoice_events') }}

),

final as (

    select
        event_id,
        invoice_number,
        line_number,
        tenant_id
    from issued_invoice_events

)

select * from final
