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
        {%- set source_node = graph.sources['source.billing.issued.period_closes'] -%}
        {%- set closes = api.Relation.create(
            database=source_node.database, schema=source_node.schema,
            identifier=source_node.identifier) -%}
        {%- set mark = settled_mark(closes, as_literals=execute) -%}
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

{#- The marks of the closes recorded in `closes` (billing.period_closes or its staged view), as
    SQL expressions: closed_through, the latest period of any close ('' when none: no month
    is closed); period and priced_through, those of the last first-close that recorded its
    pricing state ('' and no time when none: nothing is settled). Subqueries over `closes`,
    or, with as_literals, their values read now, written as literals (PostgreSQL then plans
    the period and priced_at ranges on the values, through their indexes). -#}
{% macro settled_mark(closes, as_literals) -%}
    {%- set marked = "(select period, priced_through from " ~ closes
        ~ " where kind = 'close' and priced_through is not null"
        ~ " and close_id = (select max(close_id) from " ~ closes
        ~ " where kind = 'close' and priced_through is not null))" -%}
    {%- set mark = {
        'closed_through': "(select coalesce(max(period), '') from " ~ closes ~ ")",
        'period': "(select coalesce(max(period), '') from " ~ marked ~ " as mark)",
        'priced_through': "(select max(priced_through) from " ~ marked ~ " as mark)",
    } -%}
    {%- if as_literals -%}
        {%- set values = run_query(
            "select " ~ mark['closed_through'] ~ ", " ~ mark['period'] ~ ", cast("
            ~ mark['priced_through'] ~ " as " ~ dbt.type_string() ~ ")"
        ).rows[0] -%}
        {%- set mark = {
            'closed_through': "'" ~ values[0] ~ "'",
            'period': "'" ~ values[1] ~ "'",
            'priced_through': "cast('" ~ (values[2] or '1970-01-01') ~ "' as "
                ~ dbt.type_timestamp() ~ ")",
        } -%}
    {%- endif -%}
    {{ return(mark) }}
{%- endmacro %}
