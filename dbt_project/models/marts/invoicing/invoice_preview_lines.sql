{#- The lines of billing.invoice_previews: the regular draft lines of invoice_draft_lines,
    exactly what the issue step would append now, without an invoice number. -#}
with

draft_lines as (

    select * from {{ ref('invoice_draft_lines') }}
    where draft_kind = 'regular'

),

close_status as (

    select * from {{ ref('int_period_close_status') }}

),

final as (

    select
        draft_lines.period,
        draft_lines.tenant_id,
        draft_lines.line_number,
        'draft' as status,
        draft_lines.line_type,
        draft_lines.description,
        draft_lines.usage_period,
        draft_lines.operator_id,
        draft_lines.direction,
        draft_lines.account_tier,
        draft_lines.rule_id,
        draft_lines.fee_id,
        draft_lines.quantity,
        draft_lines.unit_price,
        draft_lines.amount,
        draft_lines.currency,
        draft_lines.service_start,
        draft_lines.service_end,
        draft_lines.period_days,
        draft_lines.event_count
    from draft_lines
    cross join close_status
    where not close_status.is_closed

)

select * from final
