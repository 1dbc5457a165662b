{#- A view, so a status is always derived from the voids as they are now, never stored. -#}
{{ config(materialized='view') }}

with

issued_invoices as (

    select * from {{ ref('stg_issued__invoices') }}

),

invoice_voids as (

    select * from {{ ref('stg_issued__invoice_voids') }}

),

final as (

    select
        issued_invoices.invoice_number,
        issued_invoices.tenant_id,
        issued_invoices.period,
        issued_invoices.currency,
        issued_invoices.subtotal,
        issued_invoices.total,
        issued_invoices.line_count,
        issued_invoices.issued_at,
        case when invoice_voids.invoice_number is null then 'issued' else 'void' end as status,
        issued_invoices.replaces_invoice_number,
        invoice_voids.voided_at,
        invoice_voids.reason as void_reason,
        invoice_voids.replacement as void_replacement
    from issued_invoices
    left join invoice_voids
        on issued_invoices.invoice_number = invoice_voids.invoice_number

)

select * from final
