{#- The issue step records the build's event -> line map (invoice_draft_events) under the
    draft lines aggregated from int_draft_usage_quantities, which a refresh may have built
    additively. Both come from the same events, so they must agree on every usage line key:
    the events the map gives a line sum to its quantity and, at their own prices, to
    quantity x unit_price exactly. One aggregation of the map per build (issue 19); a row
    returned is a line key where they differ, and the close issues nothing. -#}
{{ config(severity='error') }}

with

event_map as (

    select * from {{ ref('invoice_draft_events') }}

),

draft_usage as (

    select * from {{ ref('int_draft_usage_quantities') }}

),

mapped_usage as (

    select
        tenant_id,
        coalesce(replaces_invoice_number, '') as replaces_key,
        usage_period,
        rule_id,
        count(*) as event_count,
        sum(segments) as quantity,
        sum(segments * unit_price) as exact_amount
    from event_map
    group by tenant_id, coalesce(replaces_invoice_number, ''), usage_period, rule_id

),

drafted_usage as (

    select
        tenant_id,
        coalesce(replaces_invoice_number, '') as replaces_key,
        usage_period,
        rule_id,
        sum(event_count) as event_count,
        sum(quantity) as quantity,
        sum(quantity * unit_price) as exact_amount
    from draft_usage
    group by tenant_id, coalesce(replaces_invoice_number, ''), usage_period, rule_id

),

differences as (

    select
        coalesce(mapped_usage.tenant_id, drafted_usage.tenant_id) as tenant_id,
        coalesce(mapped_usage.replaces_key, drafted_usage.replaces_key) as replaces_key,
        coalesce(mapped_usage.usage_period, drafted_usage.usage_period) as usage_period,
        coalesce(mapped_usage.rule_id, drafted_usage.rule_id) as rule_id,
        mapped_usage.event_count as mapped_events,
        drafted_usage.event_count as drafted_events,
        mapped_usage.exact_amount as mapped_amount,
        drafted_usage.exact_amount as drafted_amount
    from mapped_usage
    full outer join drafted_usage
        on
            mapped_usage.tenant_id = drafted_usage.tenant_id
            and mapped_usage.replaces_key = drafted_usage.replaces_key
            and mapped_usage.usage_period = drafted_usage.usage_period
            and mapped_usage.rule_id = drafted_usage.rule_id
    where
        mapped_usage.tenant_id is null
        or drafted_usage.tenant_id is null
        or mapped_usage.event_count <> drafted_usage.event_count
        or mapped_usage.quantity <> drafted_usage.quantity
        or mapped_usage.exact_amount <> drafted_usage.exact_amount

)

select * from differences
