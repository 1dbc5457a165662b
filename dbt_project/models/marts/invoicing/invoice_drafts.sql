with

draft_lines as (

    select * from {{ ref('invoice_draft_lines') }}

),

issued_invoices as (

    select * from {{ ref('stg_issued__invoices') }}

),

drafts as (

    select
        tenant_id,
        draft_kind,
        replaces_invoice_number,
        period,
        currency,
        sum(amount) as subtotal,
        count(*) as line_count,
        cast(sum(event_count) as {{ dbt.type_bigint() }}) as event_count
    from draft_lines
    group by tenant_id, draft_kind, replaces_invoice_number, period, currency

),

numbers_taken as (

    select coalesce(max(seq), 0) as last_seq
    from issued_invoices
    where period = {{ period_label() }}

),

numbered as (

    select
        drafts.*,
        numbers_taken.last_seq + row_number() over (
            order by drafts.tenant_id, drafts.replaces_invoice_number
        ) as seq
    from drafts
    cross join numbers_taken

),

final as (

    select
        {{ dbt.concat([
            "'INV-'", "replace(period, '-', '')", "'-'",
            "lpad(cast(seq as " ~ dbt.type_string() ~ "), 6, '0')",
        ]) }} as invoice_number,
        seq,
        tenant_id,
        draft_kind,
        replaces_invoice_number,
        period,
        currency,
        subtotal,
        subtotal as total,
        line_count,
        event_count
    from numbered

)

select * from final
