{#- Incremental by period, at the cost of the rows (re)priced since margins were last built
    (issue 19). int_charges_priced stamps each row it (re)prices with priced_at, and margins
    keeps the latest stamp and stream sequence it has read (priced_through,
    through_stream_sequence). A run rewrites every period with a row priced after the stamp
    (delete+insert by period), whichever run priced it:
      - a period with a re-priced row (priced after the stamp, a stream sequence already read)
        is aggregated again from int_charges_priced: its earlier figures no longer hold;
      - a period with new rows only (stream sequences after the one read) keeps its groups
        and adds the new rows' sums to them. Amounts and costs have at most 6 decimals
        (segments x catalogue values of at most 6, seeds' decimal_places_within), so the
        sums in numeric(28, 6) are exact and the result is the full aggregation's to the
        digit; margin and margin_pct are computed on the new sums.
    The periods and their kind are read first (below), through the priced_at index, and the
    stamps are written into the SQL as literals: with a subquery instead, PostgreSQL assumes a
    third of the table matches and scans it all. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period',
        on_schema_change='fail',
    )
}}

{%- set repriced_periods = [] -%}
{%- set added_periods = [] -%}
{%- set adding = false -%}
{%- set priced_after = "cast('1970-01-01' as " ~ dbt.type_timestamp() ~ ")" -%}
{%- if is_incremental() and execute -%}
    {%- set stamps = run_query(
        "select cast(max(priced_through) as " ~ dbt.type_string() ~ "),"
        ~ " max(through_stream_sequence) from " ~ this
    ) -%}
    {#- An empty margins (nothing priced yet) is built as from nothing. -#}
    {%- set adding = stamps.rows[0][0] is not none -%}
    {%- if adding -%}
        {%- set priced_after = "cast('" ~ stamps.rows[0][0] ~ "' as "
            ~ dbt.type_timestamp() ~ ")" -%}
        {%- set periods = run_query(
            "select period, max(case when stream_sequence <= " ~ stamps.rows[0][1]
            ~ " then 1 else 0 end) from " ~ ref('int_charges_priced')
            ~ " where priced_at > " ~ priced_after ~ " group by period"
        ) -%}
        {%- for row in periods.rows -%}
            {%- if row[1] == 1 -%}
                {%- do repriced_periods.append(row[0]) -%}
            {%- else -%}
                {%- do added_periods.append(row[0]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endif -%}
{#- The periods as an IN list (one that matches nothing when empty). -#}
{%- set none_list = "(cast(null as " ~ dbt.type_string() ~ "))" -%}
{%- set repriced_list = "('" ~ repriced_periods | join("', '") ~ "')" if repriced_periods
    else none_list -%}
{%- set added_list = "('" ~ added_periods | join("', '") ~ "')" if added_periods
    else none_list %}

with

charges as {{ inline_cte() }} (

    select * from {{ ref('int_charges_priced') }}

),

{% if adding %}
margins_built as (

    select * from {{ this }}

),

-- Periods with a re-priced row: all their priced events.
reaggregated_charges as (

    select
        period,
        tenant_id,
        operator_id,
        direction,
        account_tier,
        currency,
        1 as event_count,
        segments,
        amount as revenue,
        cost_amount as cost
    from charges
    where unpriced_reason is null and period in {{ repriced_list }}

),

-- Periods with new rows only: the groups built, plus the new rows.
kept_groups as (

    select
        period,
        tenant_id,
        operator_id,
        direction,
        account_tier,
        currency,
        event_count,
        segments,
        revenue,
        cost
    from margins_built
    where period in {{ added_list }}

),

new_charges as (

    select
        period,
        tenant_id,
        operator_id,
        direction,
        account_tier,
        currency,
        1 as event_count,
        segments,
        amount as revenue,
        cost_amount as cost
    from charges
    where
        priced_at > {{ priced_after }}
        and unpriced_reason is null
        and period in {{ added_list }}

),

rows_to_aggregate as (

    select * from reaggregated_charges
    union all
    select * from kept_groups
    union all
    select * from new_charges

),
{% else %}
rows_to_aggregate as (

    select
        period,
        tenant_id,
        operator_id,
        direction,
        account_tier,
        currency,
        1 as event_count,
        segments,
        amount as revenue,
        cost_amount as cost
    from charges
    where unpriced_reason is null

),
{% endif %}

pricing_stamp as (

    select
        max(charges.priced_at) as priced_through,
        max(charges.stream_sequence) as through_stream_sequence
    from charges

),

aggregated as (

    select
        period,
        tenant_id,
        operator_id,
        direction,
        account_tier,
        currency,
        cast(sum(event_count) as {{ dbt.type_bigint() }}) as event_count,
        cast(sum(segments) as {{ dbt.type_bigint() }}) as segments,
        cast(sum(revenue) as {{ dbt.type_numeric() }}) as revenue,
        cast(sum(cost) as {{ dbt.type_numeric() }}) as cost
    from rows_to_aggregate
    group by period, tenant_id, operator_id, direction, account_tier, currency

),

final as (

    select
        period,
        tenant_id,
        operator_id,
        direction,
        account_tier,
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
        (select pricing_stamp.priced_through from pricing_stamp) as priced_through,
        (
            select pricing_stamp.through_stream_sequence from pricing_stamp
        ) as through_stream_sequence
    from aggregated

)

select * from final
