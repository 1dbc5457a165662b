{#- The usage of the period's draft lines, aggregated once and kept up to date by the events
    priced since (issue 19): one row per usage line key of a draft. A refresh after new events
    costs in proportion to them: when the only change since the last build is new events (the
    same period, no issue, void or exclusion since, no event re-priced), their quantities are
    added to the rows of the last build, read from this very table before it is replaced (a
    table model's new rows are built beside the old table). Anything else aggregates
    int_invoiceable_charges again. Each row carries the state it was built from. The issue
    step still checks every draft line against the events it bills. -#}

{%- set additive = false -%}
{%- set priced_after = "cast('1970-01-01' as " ~ dbt.type_timestamp() ~ ")" -%}
{#- A unit test runs on its given rows only: never the additive path. -#}
{%- if execute and model.resource_type == 'model' -%}
    {%- set built_relation = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- set built_columns = adapter.get_columns_in_relation(built_relation) | map(attribute='name')
        | list if built_relation is not none else [] -%}
    {%- if 'through_stream_sequence' in built_columns -%}
        {%- set state = run_query(
            "select count(*), cast(max(built.priced_through) as " ~ dbt.type_string() ~ ")"
            ~ " from (select * from " ~ this ~ " limit 1) as built"
            ~ " cross join " ~ ref('int_period_close_status') ~ " as status"
            ~ " where built.invoice_period = status.period"
            ~ " and built.last_close_id = status.last_close_id"
            ~ " and built.void_count = status.void_count"
            ~ " and built.last_exclusion_id = status.last_exclusion_id"
            ~ " and not exists (select 1 from " ~ ref('int_charges_priced') ~ " as charges"
            ~ " where charges.priced_at > built.priced_through"
            ~ " and charges.stream_sequence <= built.through_stream_sequence)"
        ) -%}
        {%- set additive = state.rows[0][0] == 1 -%}
        {%- if additive -%}
            {#- A literal, so PostgreSQL reads the new rows through the priced_at index: with
                a subquery it assumes a third of the table matches and scans it all. -#}
            {%- set priced_after = "cast('" ~ state.rows[0][1] ~ "' as "
                ~ dbt.type_timestamp() ~ ")" -%}
            {{ log('int_draft_usage_quantities: adding the events priced since its last build',
                info=true) }}
        {%- endif -%}
    {%- endif -%}
{%- endif %}

with

-- Inlined: read by pricing_state and new_charges, each through an index (priced_at,
-- stream_sequence). A CTE read twice is otherwise materialized by PostgreSQL: every priced
-- event written to a temporary store, the additive path as slow as the full one.
charges as {{ inline_cte() }} (

    select * from {{ ref('int_charges_priced') }}

),

close_status as (

    select * from {{ ref('int_period_close_status') }}

),

pricing_state as (

    select
        max(charges.priced_at) as priced_through,
        max(charges.stream_sequence) as through_stream_sequence
    from charges

),

{% if additive %}

built as (

    select * from {{ this }}

),

-- Priced since the last build and all new (checked above): never drafted, so never billed.
new_charges as (

    select charges.*
    from charges
    where
        charges.priced_at > {{ priced_after }}
        and charges.unpriced_reason is null
        and charges.period <= {{ period_label() }}
        and not (select close_status.is_closed from close_status)

),

changes as (

    select
        tenant_id,
        cast(null as {{ dbt.type_string() }}) as replaces_invoice_number,
        period as usage_period,
        rule_id,
        unit_price,
        segments as quantity,
        1 as event_count
    from new_charges
    union all
    select
        tenant_id,
        replaces_invoice_number,
        usage_period,
        rule_id,
        unit_price,
        quantity,
        event_count
    from built

),

{% else %}

invoiceable_charges as (

    select * from {{ ref('int_invoiceable_charges') }}

),

changes as (

    select
        tenant_id,
        replaces_invoice_number,
        usage_period,
        rule_id,
        unit_price,
        segments as quantity,
        1 as event_count
    from invoiceable_charges

),

{% endif %}

quantities as (

    select
        tenant_id,
        replaces_invoice_number,
        usage_period,
        rule_id,
        unit_price,
        sum(quantity) as quantity,
        sum(event_count) as event_count
    from changes
    group by tenant_id, replaces_invoice_number, usage_period, rule_id, unit_price

),

final as (

    select
        quantities.tenant_id,
        quantities.replaces_invoice_number,
        quantities.usage_period,
        quantities.rule_id,
        cast(quantities.unit_price as {{ type_exact_numeric() }}) as unit_price,
        cast(quantities.quantity as {{ dbt.type_bigint() }}) as quantity,
        cast(quantities.event_count as {{ dbt.type_bigint() }}) as event_count,
        {{ period_label() }} as invoice_period,
        close_status.last_close_id,
        close_status.void_count,
        close_status.last_exclusion_id,
        pricing_state.priced_through,
        pricing_state.through_stream_sequence
    from quantities
    cross join close_status
    cross join pricing_state

)

select * from final
