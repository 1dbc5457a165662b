with

unpriced_charges as (

    select * from {{ ref('int_charges_priced') }}
    where unpriced_reason is not null and unpriced_reason <> 'excluded'

),

active_days as (

    select * from {{ ref('int_account_active_days') }}
    where coverage_gap is not null

),

event_gaps as (

    select
        'events' as source,
        unpriced_reason as gap,
        period,
        account_tier,
        operator_id,
        direction,
        currency,
        min(occurred_on) as first_day,
        max(occurred_on) as last_day,
        count(distinct tenant_id) as tenant_count,
        count(*) as event_count,
        0 as day_count
    from unpriced_charges
    group by unpriced_reason, period, account_tier, operator_id, direction, currency

),

day_gaps as (

    select
        'active_days' as source,
        coverage_gap as gap,
        period,
        account_tier,
        cast(null as {{ dbt.type_string() }}) as operator_id,
        cast(null as {{ dbt.type_string() }}) as direction,
        currency,
        min(day) as first_day,
        max(day) as last_day,
        count(distinct tenant_id) as tenant_count,
        0 as event_count,
        count(*) as day_count
    from active_days
    group by coverage_gap, period, account_tier, currency

),

final as (

    select * from event_gaps
    union all
    select * from day_gaps

)

select * from final
