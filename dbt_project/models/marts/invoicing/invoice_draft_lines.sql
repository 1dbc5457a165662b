{#- The first day of the month after a usage line's month (its usage_period). -#}
{%- set next_month = dbt.dateadd(
    'month', 1, "cast(" ~ dbt.concat(["usage_quantities.usage_period", "'-01'"]) ~ " as date)"
) %}
{#- The first day its price version is no longer in force, at the latest next_month. -#}
{%- set price_end = "least(coalesce(pricing_rules.effective_to, " ~ next_month ~ "), "
    ~ next_month ~ ")" %}
with

close_status as (

    select * from {{ ref('int_period_close_status') }}

),

voids_awaiting_replacement as (

    select * from {{ ref('int_voids_awaiting_replacement') }}
    where period = {{ period_label() }}

),

subscription_fee_runs as (

    select * from {{ ref('int_subscription_fee_runs') }}

),

-- One row per usage line key, kept up to date incrementally; the rule's attributes are
-- joined in usage_lines.
usage_quantities as (

    select * from {{ ref('int_draft_usage_quantities') }}

),

pricing_rules as (

    select * from {{ ref('stg_catalogue__pricing_rules') }}

),

currencies as (

    select * from {{ ref('stg_catalogue__currencies') }}

),

regular_subscriptions as (

    select
        subscription_fee_runs.*,
        cast(null as {{ dbt.type_string() }}) as replaces_invoice_number
    from subscription_fee_runs
    where not (select close_status.is_closed from close_status)

),

replacement_subscriptions as (

    select
        subscription_fee_runs.*,
        voids_awaiting_replacement.invoice_number as replaces_invoice_number
    from subscription_fee_runs
    inner join voids_awaiting_replacement
        on subscription_fee_runs.tenant_id = voids_awaiting_replacement.tenant_id

),

subscriptions_to_bill as (

    select * from regular_subscriptions
    union all
    select * from replacement_subscriptions

),

subscription_lines as (

    select
        tenant_id,
        replaces_invoice_number,
        currency,
        'subscription' as line_type,
        period as usage_period,
        cast(null as {{ dbt.type_string() }}) as operator_id,
        cast(null as {{ dbt.type_string() }}) as direction,
        account_tier,
        cast(null as {{ dbt.type_string() }}) as rule_id,
        fee_id,
        cast(active_days as {{ dbt.type_bigint() }}) as quantity,
        cast(monthly_fee as {{ dbt.type_numeric() }}) as unit_price,
        amount,
        service_start,
        service_end,
        period_days,
        0 as event_count
    from subscriptions_to_bill

),

usage_lines as (

    select
        usage_quantities.tenant_id,
        usage_quantities.replaces_invoice_number,
        pricing_rules.currency,
        case
            when usage_quantities.usage_period = {{ period_label() }} then 'usage'
            else 'late_usage'
        end as line_type,
        usage_quantities.usage_period,
        pricing_rules.operator_id,
        pricing_rules.direction,
        pricing_rules.account_tier,
        usage_quantities.rule_id,
        cast(null as {{ dbt.type_string() }}) as fee_id,
        cast(usage_quantities.quantity as {{ dbt.type_bigint() }}) as quantity,
        cast(usage_quantities.unit_price as {{ dbt.type_numeric() }}) as unit_price,
        {{ round_money(
            'usage_quantities.quantity * usage_quantities.unit_price', 'currencies.minor_units'
        ) }} as amount,
        {#- The days of the usage month the line's price version was in force: a line that
            exists because of a mid-month price change says which dates it covers. -#}
        greatest(
            pricing_rules.effective_from,
            cast({{ dbt.concat(["usage_quantities.usage_period", "'-01'"]) }} as date)
        ) as service_start,
        cast({{ dbt.dateadd('day', -1, price_end) }} as date) as service_end,
        cast(null as {{ dbt.type_int() }}) as period_days,
        usage_quantities.event_count
    from usage_quantities
    inner join pricing_rules
        on usage_quantities.rule_id = pricing_rules.rule_id
    inner join currencies
        on pricing_rules.currency = currencies.currency

),

all_lines as (

    select * from subscription_lines
    union all
    select * from usage_lines

),

numbered as (

    select
        all_lines.*,
        row_number() over (
            partition by all_lines.tenant_id, all_lines.replaces_invoice_number
            order by
                case all_lines.line_type
                    when 'subscription' then 1 when 'usage' then 2 else 3
                end,
                all_lines.usage_period,
                all_lines.service_start,
                all_lines.operator_id,
                all_lines.direction,
                all_lines.rule_id
        ) as line_number
    from all_lines

),

final as (

    select
        tenant_id,
        case when replaces_invoice_number is null then 'regular' else 'replacement' end
            as draft_kind,
        replaces_invoice_number,
        {{ period_label() }} as period,
        line_number,
        line_type,
        case line_type
            when 'subscription' then {{ dbt.concat([
                "'Subscription, '", "account_tier", "' tier, '",
                date_text('service_start'), "' to '", date_text('service_end'),
                "' ('", "cast(quantity as " ~ dbt.type_string() ~ ")", "'/'",
                "cast(period_days as " ~ dbt.type_string() ~ ")", "' days)'",
            ]) }}
            when 'usage' then {{ dbt.concat([
                "'Segments '", "direction", "' via '", "operator_id",
                "' (rule '", "rule_id", "')'",
            ]) }}
            else {{ dbt.concat([
                "'Late usage '", "usage_period", "': segments '", "direction",
                "' via '", "operator_id", "' (rule '", "rule_id", "')'",
            ]) }}
        end as description,
        usage_period,
        operator_id,
        direction,
        account_tier,
        rule_id,
        fee_id,
        quantity,
        unit_price,
        amount,
        currency,
        service_start,
        service_end,
        period_days,
        event_count
    from numbered

)

select * from final
