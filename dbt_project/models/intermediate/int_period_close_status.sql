{#- One row for the run's period: whether its first close has been issued (a closed period
    only ever gets replacements of voided invoices, SPEC section 4), and the last issue
    transaction and the number of voids seen when the drafts were built: the issue step
    refuses drafts built before another issue or a void. -#}
with

period_closes as (

    select * from {{ source('issued', 'period_closes') }}

),

invoice_voids as (

    select * from {{ source('issued', 'invoice_voids') }}

),

status as (

    select
        {{ period_label() }} as period,
        exists (
            select 1
            from period_closes
            where period_closes.period = {{ period_label() }} and period_closes.kind = 'close'
        ) as is_closed,
        (select coalesce(max(close_id), 0) from period_closes) as last_close_id,
        (select count(*) from invoice_voids) as void_count

)

select * from status
