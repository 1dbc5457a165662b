{#- Incremental, so a run costs in proportion to what changed:
      - new events (landed since the last run) are always priced;
      - when the pricing inputs changed (checksum of accounts, tiers, rules, costs), every
        event not on a non-void issued invoice is repriced: the open period in full, late
        events, unpriced events;
      - events of voided invoices are repriced every run, so a replacement uses the current
        catalogues.
    Events on a non-void issued invoice keep the pricing they were billed with (full_refresh is
    off: a --full-refresh never reprices billed events). Strategy new_and_repriced: only the
    events priced again are deleted before the insert; new events are appended
    (macros/performance). The partial index on the priced events' period lets a close read its
    month, not every month (int_invoiceable_charges). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='new_and_repriced',
        unique_key='event_id',
        full_refresh=false,
        on_schema_change='fail',
        indexes=[
            {'columns': ['event_id'], 'unique': True},
            {'columns': ['stream_sequence']},
            {'columns': ['priced_at']},
        ],
        post_hook=[
            "{{ partial_index('unpriced', ['period'], 'unpriced_reason is not null') }}",
            "{{ partial_index('priced_period', ['period'], 'unpriced_reason is null') }}",
            "{{ refresh_statistics() }}",
        ],
    )
}}

{#- The last stream sequence priced is written into the SQL as a literal: with a subquery
    PostgreSQL assumes a third of the staged events are new and plans for millions. -#}
{%- set reprice_open_events = false -%}
{%- set priced_through = 0 -%}
{%- if is_incremental() and execute -%}
    {%- set checksums = run_query(
        "select (select checksum from " ~ ref('int_pricing_inputs_checksum') ~ "),"
        ~ " (select pricing_checksum from " ~ this
        ~ " order by stream_sequence desc limit 1),"
        ~ " (select coalesce(max(stream_sequence), 0) from " ~ this ~ ")"
    ) -%}
    {%- set reprice_open_events = checksums.rows[0][0] != checksums.rows[0][1] -%}
    {%- set priced_through = checksums.rows[0][2] -%}
{%- endif %}

with

events as {{ inline_cte() }} (

    select * from {{ ref('stg_raw__message_charged') }}
    where not is_duplicate

),

accounts as (

    select * from {{ ref('stg_ref__accounts') }}

),

account_tier_ranges as (

    select * from {{ ref('int_account_tier_ranges') }}

),

pricing_rules as (

    select * from {{ ref('stg_catalogue__pricing_rules') }}

),

operator_costs as (

    select * from {{ ref('stg_catalogue__operator_costs') }}

),

excluded_events as (

    select * from {{ ref('int_excluded_events') }}

),

pricing_inputs as (

    select checksum from {{ ref('int_pricing_inputs_checksum') }}

),

-- Read by incremental runs only (a first build prices every event).
billed_events as (  -- noqa: ST03

    select * from {{ ref('int_billed_events') }}

),

issued_invoice_events as (  -- noqa: ST03

    select * from {{ ref('stg_issued__invoice_events') }}

),

invoice_voids as (  -- noqa: ST03

    select * from {{ ref('stg_issued__invoice_voids') }}

),

{% if is_incremental() %}

voided_events as (

    select issued_invoice_events.event_id
    from issued_invoice_events
    inner join invoice_voids
        on issued_invoice_events.invoice_number = invoice_voids.invoice_number

),

new_events as (

    select events.*
    from events
    where events.stream_sequence > {{ priced_through }}

),

repriced_events as (

    select events.*
    from events
    where
        events.stream_sequence <= {{ priced_through }}
        {% if not reprice_open_events %}
        and events.event_id in (select voided_events.event_id from voided_events)
        {% endif %}
        and not exists (
            select 1
            from billed_events
            where billed_events.event_id = events.event_id
        )

),

events_to_price as (

    select * from new_events
    union all
    select * from repriced_events

),

{% else %}

events_to_price as (

    select * from events

),

{% endif %}

with_account as (

    select
        events_to_price.*,
        accounts.currency,
        accounts.tenant_id is not null as has_account
    from events_to_price
    left join accounts
        on events_to_price.tenant_id = accounts.tenant_id

),

with_tier as (

    select
        with_account.*,
        account_tier_ranges.account_tier
    from with_account
    left join account_tier_ranges
        on
            with_account.tenant_id = account_tier_ranges.tenant_id
            and {{ in_force('account_tier_ranges', on='with_account.occurred_on') }}

),

with_rule as (

    select
        with_tier.*,
        pricing_rules.rule_id,
        pricing_rules.unit_price
    from with_tier
    left join pricing_rules
        on
            with_tier.account_tier = pricing_rules.account_tier
            and with_tier.operator_id = pricing_rules.operator_id
            and with_tier.direction = pricing_rules.direction
            and with_tier.currency = pricing_rules.currency
            and {{ in_force('pricing_rules', on='with_tier.occurred_on') }}

),

with_cost as (

    select
        with_rule.*,
        operator_costs.cost_id,
        operator_costs.unit_cost
    from with_rule
    left join operator_costs
        on
            with_rule.operator_id = operator_costs.operator_id
            and with_rule.direction = operator_costs.direction
            and with_rule.currency = operator_costs.currency
            and {{ in_force('operator_costs', on='with_rule.occurred_on') }}

),

with_exclusion as (

    select
        with_cost.*,
        excluded_events.event_id is not null as is_excluded
    from with_cost
    left join excluded_events
        on with_cost.event_id = excluded_events.event_id

),

classified as (

    select
        with_exclusion.*,
        case
            when with_exclusion.is_excluded then 'excluded'
            when not with_exclusion.has_account then 'unknown_account'
            when with_exclusion.account_tier is null then 'no_tier'
            when with_exclusion.rule_id is null then 'no_rule'
            when with_exclusion.cost_id is null then 'no_cost'
        end as unpriced_reason
    from with_exclusion

),

amounts as (

    select
        classified.*,
        case
            when classified.unpriced_reason is null
                then classified.segments * classified.unit_price
        end as amount,
        case
            when classified.unpriced_reason is null
                then classified.segments * classified.unit_cost
        end as cost_amount
    from classified

),

final as (

    select
        event_id,
        stream_sequence,
        tenant_id,
        occurred_at,
        occurred_on,
        period,
        operator_id,
        direction,
        segments,
        currency,
        account_tier,
        rule_id,
        -- Exact: no column type rounds a catalogue value or a ratio (SPEC section 3).
        cast(unit_price as {{ type_exact_numeric() }}) as unit_price,
        cast(amount as {{ type_exact_numeric() }}) as amount,
        cost_id,
        cast(unit_cost as {{ type_exact_numeric() }}) as unit_cost,
        cast(cost_amount as {{ type_exact_numeric() }}) as cost_amount,
        cast(amount - cost_amount as {{ type_exact_numeric() }}) as margin,
        cast(
            case when amount <> 0 then (amount - cost_amount) / amount end
            as {{ type_exact_numeric() }}
        ) as margin_pct,
        unpriced_reason,
        (select pricing_inputs.checksum from pricing_inputs) as pricing_checksum,
        {{ run_started_literal() }} as priced_at
    from amounts

)

select * from final
