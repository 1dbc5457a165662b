with

active_days as (

    select * from {{ ref('int_account_active_days') }}
    where coverage_gap is null

),

currencies as (

    select * from {{ ref('stg_catalogue__currencies') }}

),

islands as (

    select
        active_days.*,
        active_days.day_of_period - row_number() over (
            partition by active_days.tenant_id, active_days.account_tier, active_days.fee_id
            order by active_days.day
        ) as run_key
    from active_days

),

runs as (

    select
        tenant_id,
        period,
        currency,
        account_tier,
        fee_id,
        monthly_fee,
        min(day) as service_start,
        max(day) as service_end,
        count(*) as active_days
    from islands
    group by tenant_id, period, currency, account_tier, fee_id, monthly_fee, run_key

),

final as (

    select
        runs.*,
        {{ period_days() }} as period_days,
        {{ round_money(
            'runs.monthly_fee * runs.active_days / ' ~ period_days(), 'currencies.minor_units'
        ) }} as amount
    from runs
    inner join currencies
        on runs.currency = currencies.currency

)

select * from final
