with

issued_invoices as (

    select * from {{ source('issued', 'issued_invoices') }}

),

final as (

    select
        invoice_number,
        period,
        seq,
        tenant_id,
        currency,
        subtotal,
        total,
        line_count,
        issued_at,
        replaces_invoice_number
    from issued_invoices

)

select * from final
