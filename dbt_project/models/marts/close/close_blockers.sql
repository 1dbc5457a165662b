with

unpriced_charges as (

    select * from {{ ref('int_charges_priced') }}
    where
        unpriced_reason is not null
        and unpriced_reason <> 'excluded'
        and period <= {{ period_label() }}

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
        end as remedy,
        case unpriced_reason
            when 'unknown_account' then 'billing accounts import ACCOUNTS.csv'
            when 'no_tier' then 'billing tiers import TIERS.csv'
            when 'no_rule'
                then 'add the rule to dbt_project/seeds/pricing_rules.csv (reviewed PR), deploy'
            else 'add the cost to dbt_project/seeds/operator_costs.csv (reviewed PR), deploy'
        end as fix_step,
        period as event_period,
        {{ dbt.listagg(
            "cast(event_id as " ~ dbt.type_string() ~ ")", "' '",
            "order by event_id", max_listed_event_ids(),
        ) }} as listed_event_ids
    from unpriced_charges
    group by period, unpriced_reason, account_tier, operator_id, direction, currency

),

-- The exact commands: fix the reference data and close again, or (a bogus event) let
-- Finance exclude the events. Up to max_listed_event_ids() ids are written out; past that,
-- the ledger lists them into a file.
unpriced_remedies as (

    select
        blocker,
        subject,
        item_count,
        remedy,
        {{ dbt.concat([
            "fix_step", "'; then: billing close --month '", period_label(),
        ]) }} as remedy_command,
        case
            when item_count <= {{ max_listed_event_ids() }}
                then {{ dbt.concat([
                    "'billing events exclude '", "listed_event_ids",
                    "' --reason ''why they can never be billed'''",
                ]) }}
            else {{ dbt.concat([
                "'billing ledger --month '", "event_period",
                "' --fate unpriced --ids > unpriced-'", "event_period",
                "'.txt; billing events exclude --file unpriced-'", "event_period",
                "'.txt --reason ''why they can never be billed'''",
            ]) }}
        end as exclude_command
    from unpriced_blockers

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
        end as remedy,
        case active_days.coverage_gap
            when 'no_tier'
                then {{ dbt.concat([
                    "'billing tiers import TIERS.csv; then: billing close --month '",
                    period_label(),
                ]) }}
            else {{ dbt.concat([
                "'add the fee to dbt_project/seeds/tier_fees.csv (reviewed PR), deploy; '",
                "'then: billing close --month '", period_label(),
            ]) }}
        end as remedy_command,
        cast(null as {{ dbt.type_string() }}) as exclude_command
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
            as remedy,
        {{ dbt.concat(["'billing close --month '", "period"]) }} as remedy_command,
        cast(null as {{ dbt.type_string() }}) as exclude_command
    from voids_awaiting_replacement
    where period < {{ period_label() }}

),

final as (

    select {{ period_label() }} as period, unpriced_remedies.* from unpriced_remedies
    union all
    select {{ period_label() }} as period, coverage_blockers.* from coverage_blockers
    union all
    select {{ period_label() }} as period, void_blockers.* from void_blockers

)

select * from final
