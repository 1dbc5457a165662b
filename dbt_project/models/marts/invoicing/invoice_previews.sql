{#- The open month's draft invoices as Finance and tenants may read them (SPEC section 4,
    issue 20): the regular drafts the issue step would issue now, from invoice_drafts itself
    (no pricing here), without the number the issue step would assign. -#}
with

drafts as (

    select * from {{ ref('invoice_drafts') }}
    where draft_kind = 'regular'

),

close_status as (

    select * from {{ ref('int_period_close_status') }}

),

final as (

    select
        drafts.period,
        drafts.tenant_id,
        'draft' as status,
        drafts.currency,
        drafts.subtotal,
        drafts.total,
        drafts.line_count,
        drafts.event_count,
        {{ run_started_literal() }} as built_at
    from drafts
    cross join close_status
    where not close_status.is_closed

)

select * from final
