{#- Incremental on the stream sequence: each run reads only the messages landed since the
    last. An event_id first landed in an earlier run keeps that landing as its billed one.
    The duplicates (0.1% of the landings) have their own index: charge_conflicts reads them
    alone, not every landing. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        indexes=[
            {'columns': ['stream_sequence'], 'unique': True},
            {'columns': ['event_id']},
        ],
        post_hook=[
            "{{ partial_index('duplicates', ['stream_sequence'], 'is_duplicate') }}",
            "{{ refresh_statistics() }}",
        ],
    )
}}

{#- The last stream sequence staged, written into the SQL as a literal: with a subquery
    PostgreSQL assumes a third of raw.message_charged matches and scans all of it (payloads
    included) instead of the primary key's range of the new landings. -#}
{#- A unit test's `this` is its given rows (a CTE): there, the subquery. -#}
{%- set staged_through = "(select coalesce(max(staged.stream_sequence), 0) from staged)" -%}
{%- if is_incremental() and execute and model.resource_type == 'model' -%}
    {%- set staged_through = run_query(
        "select coalesce(max(stream_sequence), 0) from " ~ this
    ).rows[0][0] -%}
{%- endif %}

{#- The landings read: those since the last run; in a what-if run (var events_of_period_only,
    docs/finance-tools.md) only the period's events, since it prices one month's traffic. -#}
{%- set landed_filters = [] -%}
{%- if is_incremental() -%}
{%- do landed_filters.append('stream_sequence > ' ~ staged_through) -%}
{%- endif -%}
{%- if var('events_of_period_only', false) -%}
{%- do landed_filters.append(in_period('occurred_at')) -%}
{%- endif %}

with

{% if is_incremental() %}
staged as {{ inline_cte() }} (

    select * from {{ this }}

),
{% endif %}

-- The columns staged, not the payload: this CTE is read twice (the batch's first landings,
-- and the earlier runs' ones), so PostgreSQL keeps it in a temporary store, which with the
-- payload was 1.3 GB for 3M landings.
landed as (

    select
        stream_sequence,
        event_id,
        tenant_id,
        operator_id,
        direction,
        segments,
        occurred_at
    from {{ source('raw', 'message_charged') }}
    {% if landed_filters %}
    where {{ landed_filters | join(' and ') }}
    {% endif %}

),

first_in_batch as (

    select
        landed.*,
        {{ first_occurrence('event_id', 'stream_sequence') }} as batch_first_stream_sequence
    from landed

),

{% if is_incremental() %}
first_in_earlier_runs as (

    select
        event_id,
        min(stream_sequence) as first_stream_sequence
    from staged
    where
        not is_duplicate
        and event_id in (select landed.event_id from landed)
    group by event_id

),
{% endif %}

{% if is_incremental() %}
with_first_occurrence as (

    select
        first_in_batch.*,
        coalesce(
            first_in_earlier_runs.first_stream_sequence,
            first_in_batch.batch_first_stream_sequence
        ) as first_stream_sequence
    from first_in_batch
    left join first_in_earlier_runs
        on first_in_batch.event_id = first_in_earlier_runs.event_id

),
{% else %}
with_first_occurrence as (

    select
        first_in_batch.*,
        first_in_batch.batch_first_stream_sequence as first_stream_sequence
    from first_in_batch

),
{% endif %}

final as (

    select
        stream_sequence,
        event_id,
        first_stream_sequence,
        stream_sequence <> first_stream_sequence as is_duplicate,
        tenant_id,
        operator_id,
        direction,
        segments,
        occurred_at,
        {{ utc_date('occurred_at') }} as occurred_on,
        {{ month_label(utc_date('occurred_at')) }} as period
    from with_first_occurrence

)

select * from final
