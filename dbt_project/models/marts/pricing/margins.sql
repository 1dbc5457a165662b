{#- Incremental by period: a run recomputes the periods whose events it (re)priced. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period',
        on_schema_change='fail',
    )
}}

with

charges as {{ inline_cte() }} (

    select * from {{ ref('int_charges_priced') }}

),

{% if is_incremental() %}
repriced_periods as (

    select distinct period
    from charges
    where priced_at = {{ run_started_literal() }}

),
{% endif %}

priced_charges as (

    select charges.*
    from charges
    where
        charges.unpriced_reason is null
        {% if is_incremental() %}
        and charges.period in (select repriced_periods.period from repriced_periods)
        {% endif %}

),

aggregated as (

    select
        period,
        tenant_id,
        operator_id,
        direction,
        currency,
        count(*) as event_count,
        sum(segments) as segments,
        cast(sum(amount) as {{ dbt.type_numeric() }}) as revenue,
        cast(sum(cost_amount) as {{ dbt.type_numeric() }}) as cost
    from priced_charges
    group by period, tenant_id, operator_id, direction, currency

),

final as (

    select
        period,
        tenant_id,
        operator_id,
        direction,
        currency,
        event_count,
        segments,
        revenue,
        cost,
        cast(revenue - cost as {{ dbt.type_numeric() }}) as margin,
        cast(
            case when revenue <> 0 then {{ round_half_up('(revenue - cost) / revenue', 6) }} end
            as {{ dbt.type_numeric() }}
        ) as margin_pct
    from aggregated

)

select * from final
