{#- Incremental by period: a run recomputes every period with an event (re)priced since margins
    were last built, whichever run priced it. int_charges_priced stamps each row it (re)prices
    with priced_at (it reprices when its input checksum changes), and margins keeps the
    latest stamp it has read (priced_through): a reprice in one run and margins in a later one
    therefore still recompute the repriced periods. -#}
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
margins_built as (

    select max(priced_through) as priced_through from {{ this }}

),

repriced_periods as (

    select distinct charges.period
    from charges
    where
        charges.priced_at > coalesce(
            (select margins_built.priced_through from margins_built),
            cast('1970-01-01' as {{ dbt.type_timestamp() }})
        )

),
{% endif %}

pricing_stamp as (

    select max(charges.priced_at) as priced_through from charges

),

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
        ) as margin_pct,
        (select pricing_stamp.priced_through from pricing_stamp) as priced_through
    from aggregated

)

select * from final
