{#- Per-event data tests scoped to the rows a close can still bill or change (issue 19): a test
    with `config: {where: unsettled_charges}` checks only the priced events not settled by the
    last first-close (billing.period_closes.priced_through: the rule of int_invoiceable_charges,
    docs/pricing.md), `where: unsettled_months` the rows of months after that close's period.
    A settled row is never written again (billed events keep their pricing; an event of an
    invoice voided later is priced again, with a newer priced_at, and so is in scope again), and
    it was checked by the builds that had it in scope, the close that settled it among them.
    Without the scope each test read every closed month: at 3M events a month, the per-event
    tests of the third close took 31 s and grew by about 10 s a month. Uniqueness over all
    rows stays the unique indexes' (event_id, stream_sequence).

    Overrides dbt's get_where_subquery (the macro that applies a test's `where`), at run time:
    the marks are read then, as literals. Any other `where` is applied as dbt does. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where in ('unsettled_charges', 'unsettled_months') -%}
        {%- set mark = settled_mark() -%}
        {%- if where == 'unsettled_charges' -%}
            {%- set where = "(period > " ~ mark['period'] ~ " or priced_at > "
                ~ mark['priced_through'] ~ ")" -%}
        {%- else -%}
            {%- set where = "period > " ~ mark['period'] -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#- The last first-close's period and pricing state as SQL literals ('' and the epoch when
    none recorded one: nothing is settled). -#}
{% macro settled_mark() -%}
    {%- set source_node = graph.sources['source.billing.issued.period_closes'] -%}
    {%- set closes = api.Relation.create(
        database=source_node.database, schema=source_node.schema,
        identifier=source_node.identifier) -%}
    {%- set found = run_query(
        "select period, cast(priced_through as " ~ dbt.type_string() ~ ") from " ~ closes
        ~ " where kind = 'close' and priced_through is not null"
        ~ " order by close_id desc limit 1"
    ) if execute else none -%}
    {%- set row = found.rows[0] if found is not none and found.rows | length > 0 else none -%}
    {{ return({
        'period': "'" ~ (row[0] if row else '') ~ "'",
        'priced_through': "cast('" ~ (row[1] if row else '1970-01-01') ~ "' as "
            ~ dbt.type_timestamp() ~ ")",
    }) }}
{%- endmacro %}
