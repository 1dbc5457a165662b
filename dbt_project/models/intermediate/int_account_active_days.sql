with

period_days as (

    {{ days_of_period() }}

),

accounts as (

    select * from {{ ref('stg_ref__accounts') }}

),

account_tier_ranges as (

    select * from {{ ref('int_account_tier_ranges') }}

),

tier_fees as (

    select * from {{ ref('stg_catalogue__tier_fees') }}

),

active_days as (

    select
        accounts.tenant_id,
        accounts.currency,
        period_days.day,
        period_days.day_of_period
    from accounts
    inner join period_days
        on {{ in_force(
            'accounts', on='period_days.day',
            from_column='activated_on', to_column='deactivated_on',
        ) }}

),

with_tier as (

    select
        active_days.*,
        account_tier_ranges.account_tier
    from active_days
    left join account_tier_ranges
        on
            active_days.tenant_id = account_tier_ranges.tenant_id
            and {{ in_force('account_tier_ranges', on='active_days.day') }}

),

with_fee as (

    select
        with_tier.*,
        tier_fees.fee_id,
        tier_fees.monthly_fee
    from with_tier
    left join tier_fees
        on
            with_tier.account_tier = tier_fees.account_tier
            and with_tier.currency = tier_fees.currency
            and {{ in_force('tier_fees', on='with_tier.day') }}

),

final as (

    select
        tenant_id,
        {{ period_label() }} as period,
        day,
        day_of_period,
        currency,
        account_tier,
        fee_id,
        monthly_fee,
        case
            when account_tier is null then 'no_tier'
            when fee_id is null then 'no_fee'
        end as coverage_gap
    from with_fee

)

select * from final
