with

period_closes as (

    select * from {{ ref('stg_issued__period_closes') }}

),

invoice_voids as (

    select * from {{ ref('stg_issued__invoice_voids') }}

),

event_exclusions as (

    select * from {{ ref('stg_finance__event_exclusions') }}

),

status as (

    -- The last issue and the number of voids as this run saw them: the issue step refuses
    -- drafts built before another issue or a void (macro issue_invoices).
    select
        {{ period_label() }} as period,
        exists(
            select 1
            from period_closes
            where period_closes.period = {{ period_label() }} and period_closes.kind = 'close'
        ) as is_closed,
        (select coalesce(max(period_closes.close_id), 0) from period_closes) as last_close_id,
        (select count(*) from invoice_voids) as void_count,
        (
            select coalesce(max(event_exclusions.exclusion_id), 0) from event_exclusions
        ) as last_exclusion_id

)

select * from status
