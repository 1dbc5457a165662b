with

period_closes as (

    select * from {{ source('issued', 'period_closes') }}

),

final as (

    select
        close_id,
        period,
        kind,
        closed_at,
        closed_by,
        invoice_count,
        event_count
    from period_closes

)

select * from final
