with

unpriced_charges as (

    select * from {{ ref('int_charges_priced') }}
    where unpriced_reason is not null and period <= {{ period_label() }}

),

close_status as (

    select * from {{ ref('int_period_close_status') }}

),

active_days as (

    select * from {{ ref('int_account_active_days') }}
    where coverage_gap is not null

),

voids_awaiting_replacement as (

    select * from {{ ref('int_voids_awaiting_replacement') }}

),

tenants_in_scope as (

    select distinct active_days.tenant_id
    from active_days
    where
        not (select close_status.is_closed from close_status)
        or active_days.tenant_id in (
            select voids_awaiting_replacement.tenant_id
            from voids_awaiting_replacement
            where voids_awaiting_replacement.period = {{ period_label() }}
        )

),

unpriced_blockers as (

    select
        'unpriced_events' as blocker,
        {{ dbt.concat([
            "period", "' '", "unpriced_reason", "' '",
            "coalesce(account_tier, '-')", "'/'", "operator_id", "'/'", "direction",
            "'/'", "coalesce(currency, '-')",
        ]) }} as subject,
        count(*) as item_count,
        case unpriced_reason
            when 'unknown_account' then 'import the account (billing accounts import)'
            when 'no_tier' then 'import a tier in force on the event dates (billing tiers import)'
            when 'no_rule' then 'add a pricing rule to catalogue pricing_rules.csv'
            else 'add an operator cost to catalogue operator_costs.csv'
        end as remedy
    from unpriced_charges
    group by period, unpriced_reason, account_tier, operator_id, direction, currency

),

coverage_blockers as (

    select
        case active_days.coverage_gap
            when 'no_tier' then 'tier_coverage' else 'fee_coverage'
        end as blocker,
        {{ dbt.concat([
            "cast(active_days.tenant_id as " ~ dbt.type_string() ~ ")", "' '",
            "coalesce(active_days.account_tier, '-')", "'/'", "active_days.currency",
        ]) }} as subject,
        count(*) as item_count,
        case active_days.coverage_gap
            when 'no_tier' then 'import a tier in force on those days (billing tiers import)'
            else 'add a tier fee to catalogue tier_fees.csv'
        end as remedy
    from active_days
    inner join tenants_in_scope
        on active_days.tenant_id = tenants_in_scope.tenant_id
    group by
        active_days.coverage_gap,
        active_days.tenant_id,
        active_days.account_tier,
        active_days.currency

),

void_blockers as (

    select
        'void_awaiting_replacement' as blocker,
        invoice_number as subject,
        1 as item_count,
        {{ dbt.concat(["'close '", "period", "' first: it issues the replacement'"]) }}
            as remedy
    from voids_awaiting_replacement
    where period < {{ period_label() }}

),

final as (

    select {{ period_label() }} as period, unpriced_blockers.* from unpriced_blockers
    union all
    select {{ period_label() }} as period, coverage_blockers.* from coverage_blockers
    union all
    select {{ period_label() }} as period, void_blockers.* from void_blockers

)

select * from final
