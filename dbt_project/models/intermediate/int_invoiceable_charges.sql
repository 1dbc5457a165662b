{#- A view: the drafts aggregate it once and the issue step reads it once more inside its
    transaction, so the event -> line map is computed from the same rule and never copied
    (10M rows written for nothing). The issue step refuses if anything it depends on changed
    since the drafts were built (int_period_close_status).

    What is checked against the issued events (issue 19: that anti-join over every closed
    month made each close slower than the one before), from billing.period_closes:
      - a month after every closed month is on no issued invoice (an issue bills events of
        months up to its own period): no check at all;
      - a month up to the last closed one: only its events priced after the pricing state of
        the last first-close (priced_through, migration 0024) are checked; those priced up to
        it, of a month up to that close's period, are settled (that close billed every
        invoiceable event, and an event of an invoice voided since is priced again by the
        next build).
    The marks are written into the SQL as literals (so PostgreSQL reads the period and
    priced_at ranges through their indexes), read when the view is built: the view is built
    by the same run that reads it, and the issue step refuses drafts built before another
    close. -#}
{{ config(materialized='view') }}

{%- set closes = ref('stg_issued__period_closes') -%}
{#- Literals once the staged closes exist (a build has them: they come first); subqueries in
    a unit test (its given rows) and when compiling before any build. -#}
{%- set mark = settled_mark(
    closes,
    as_literals=execute and model.resource_type == 'model'
        and adapter.get_relation(closes.database, closes.schema, closes.identifier) is not none
) %}

with

priced_charges as (

    select * from {{ ref('int_charges_priced') }}
    where unpriced_reason is null and period <= {{ period_label() }}

),

billed_events as (

    select * from {{ ref('int_billed_events') }}

),

close_status as (

    select * from {{ ref('int_period_close_status') }}

),

voids_awaiting_replacement as (

    select * from {{ ref('int_voids_awaiting_replacement') }}
    where period = {{ period_label() }}

),

issued_invoice_events as (

    select * from {{ ref('stg_issued__invoice_events') }}

),

-- Of a month after every closed month: on no issued invoice.
charges_after_closed_months as (

    select priced_charges.*
    from priced_charges
    where priced_charges.period > {{ mark['closed_through'] }}

),

-- Of a closed month, and not settled by the last first-close's pricing state: checked.
unsettled_charges_of_closed_months as (

    select priced_charges.*
    from priced_charges
    where
        priced_charges.period <= {{ mark['closed_through'] }}
        and (
            priced_charges.period > {{ mark['period'] }}
            or priced_charges.priced_at > {{ mark['priced_through'] }}
        )
        and not exists (
            select 1
            from billed_events
            where billed_events.event_id = priced_charges.event_id
        )

),

unbilled_charges as {{ inline_cte() }} (

    select * from charges_after_closed_months
    union all
    select * from unsettled_charges_of_closed_months

),

regular_charges as (

    select
        unbilled_charges.*,
        cast(null as {{ dbt.type_string() }}) as replaces_invoice_number
    from unbilled_charges
    where not (select close_status.is_closed from close_status)

),

replacement_charges as (

    select
        unbilled_charges.*,
        voids_awaiting_replacement.invoice_number as replaces_invoice_number
    from voids_awaiting_replacement
    inner join issued_invoice_events
        on voids_awaiting_replacement.invoice_number = issued_invoice_events.invoice_number
    inner join unbilled_charges
        on issued_invoice_events.event_id = unbilled_charges.event_id

),

invoiceable as (

    select * from regular_charges
    union all
    select * from replacement_charges

),

final as (

    select
        event_id,
        tenant_id,
        replaces_invoice_number,
        {{ period_label() }} as invoice_period,
        period as usage_period,
        rule_id,
        unit_price,
        segments
    from invoiceable

)

select * from final
