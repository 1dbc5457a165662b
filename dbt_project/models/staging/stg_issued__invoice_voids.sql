with

invoice_voids as (

    select * from {{ source('issued', 'invoice_voids') }}

),

final as (

    select
        invoice_number,
        tenant_id,
        reason,
        replacement,
        voided_by,
        voided_at
    from invoice_voids

)

select * from final
