{#- A view, so a status is always derived from the voids as they are now, never stored. -#}
{{ config(materialized='view') }}

with

issued_invoice_lines as (

    select * from {{ ref('stg_issued__invoice_lines') }}

),

invoice_voids as (

    select * from {{ ref('stg_issued__invoice_voids') }}

),

final as (

    select
        issued_invoice_lines.invoice_number,
        issued_invoice_lines.line_number,
        issued_invoice_lines.tenant_id,
        issued_invoice_lines.line_type,
        issued_invoice_lines.description,
        issued_invoice_lines.usage_period,
        issued_invoice_lines.operator_id,
        issued_invoice_lines.direction,
        issued_invoice_lines.account_tier,
        issued_invoice_lines.rule_id,
        issued_invoice_lines.fee_id,
        issued_invoice_lines.quantity,
        issued_invoice_lines.unit_price,
        issued_invoice_lines.amount,
        issued_invoice_lines.service_start,
        issued_invoice_lines.service_end,
        issued_invoice_lines.period_days,
        case when invoice_voids.invoice_number is null then 'issued' else 'void' end as status
    from issued_invoice_lines
    left join invoice_voids
        on issued_invoice_lines.invoice_number = invoice_voids.invoice_number

)

select * from final
