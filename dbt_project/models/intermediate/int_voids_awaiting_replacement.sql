{{ config(materialized='view') }}

with

invoice_voids as (

    select * from {{ ref('stg_issued__invoice_voids') }}

),

issued_invoices as (

    select * from {{ ref('stg_issued__invoices') }}

),

void_resolutions as (

    select * from {{ ref('stg_issued__void_resolutions') }}

),

awaiting as (

    select
        invoice_voids.invoice_number,
        invoice_voids.tenant_id,
        voided.period,
        invoice_voids.voided_at
    from invoice_voids
    inner join issued_invoices as voided
        on invoice_voids.invoice_number = voided.invoice_number
    where
        invoice_voids.replacement = 'required'
        and not exists (
            select 1
            from issued_invoices as replacements
            where replacements.replaces_invoice_number = invoice_voids.invoice_number
        )
        -- An empty replacement resolves the void (macro issue_invoices records it).
        and not exists (
            select 1
            from void_resolutions
            where void_resolutions.invoice_number = invoice_voids.invoice_number
        )

)

select * from awaiting
