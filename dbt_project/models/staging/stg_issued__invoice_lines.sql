with

issued_invoice_lines as (

    select * from {{ source('issued', 'issued_invoice_lines') }}

),

final as (

    select
        invoice_number,
        line_number,
        tenant_id,
        line_type,
        description,
        usage_period,
        operator_id,
        direction,
        account_tier,
        rule_id,
        fee_id,
        quantity,
        unit_price,
        amount,
        service_start,
        service_end,
        period_days
    from issued_invoice_lines

)

select * from final
