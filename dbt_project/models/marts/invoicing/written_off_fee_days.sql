{#- A view, security_invoker, internal (Finance, auditors; the ledger of issue 18 reads it).
    Subscription days of a cancelled invoice are never billed again: the regular close of a
    closed month does not run, and only voids that require a replacement get one. -#}
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
        issued_invoice_lines.usage_period as period,
        issued_invoice_lines.account_tier,
        issued_invoice_lines.fee_id,
        issued_invoice_lines.service_start,
        issued_invoice_lines.service_end,
        cast(issued_invoice_lines.quantity as {{ dbt.type_int() }}) as fee_days,
        issued_invoice_lines.amount,
        invoice_voids.reason,
        invoice_voids.voided_by as written_off_by,
        invoice_voids.voided_at as written_off_at
    from issued_invoice_lines
    inner join invoice_voids
        on issued_invoice_lines.invoice_number = invoice_voids.invoice_number
    where
        invoice_voids.replacement = 'none'
        and issued_invoice_lines.line_type = 'subscription'

)

select * from final
