{#- The billing period of a run (var 'period', 'YYYY-MM'; by default the month that ended
    last), as SQL literals. Validated here once, so models can inline it safely. -#}

{% macro _period_parts() -%}
    {%- set label = var('period') -%}
    {%- if label is none -%}
        {#- Without --vars, the month that ended last (what the monthly schedule closes). -#}
        {%- set first_of_this_month = modules.datetime.datetime.utcnow().date().replace(day=1) -%}
        {%- set last_month = first_of_this_month - modules.datetime.timedelta(days=1) -%}
        {%- set label = last_month.strftime('%Y-%m') -%}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])$', label | string) -%}
        {{ exceptions.raise_compiler_error(
            "var 'period' must be a month 'YYYY-MM' (got " ~ label ~ "): "
            ~ "run with --vars '{period: 2026-10}'") }}
    {%- endif -%}
    {%- set year = (label | string)[0:4] | int -%}
    {%- set month = (label | string)[5:7] | int -%}
    {%- set start = modules.datetime.date(year, month, 1) -%}
    {%- if month == 12 -%}
        {%- set next_start = modules.datetime.date(year + 1, 1, 1) -%}
    {%- else -%}
        {%- set next_start = modules.datetime.date(year, month + 1, 1) -%}
    {%- endif -%}
    {{ return({
        'label': label | string,
        'start': start,
        'end': next_start,
        'days': (next_start - start).days,
        'number': year * 100 + month,
    }) }}
{%- endmacro %}

{#- 'YYYY-MM' of the run, as a string literal. -#}
{% macro period_label() -%}
    '{{ _period_parts()['label'] }}'
{%- endmacro %}

{#- First day of the period (inclusive), as a date literal. -#}
{% macro period_start() -%}
    cast('{{ _period_parts()['start'].isoformat() }}' as date)
{%- endmacro %}

{#- First day of the next period (exclusive end), as a date literal. -#}
{% macro period_end() -%}
    cast('{{ _period_parts()['end'].isoformat() }}' as date)
{%- endmacro %}

{#- Number of days D in the period. -#}
{% macro period_days() -%}
    {{ _period_parts()['days'] }}
{%- endmacro %}

{#- YYYYMM as an integer (advisory lock keys, invoice numbers). -#}
{% macro period_number() -%}
    {{ _period_parts()['number'] }}
{%- endmacro %}

{#- The start of this dbt invocation (UTC, without time zone), as a timestamp literal: stamps
    rows a run (re)computes, so later models of the same run can find them. -#}
{% macro run_started_literal() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- Whether a timestamp falls in the period (its UTC date from the first day, inclusive, to the
    next period's, exclusive), as an SQL condition. -#}
{% macro in_period(timestamp_expression) -%}
    {{ utc_date(timestamp_expression) }} >= {{ period_start() }}
    and {{ utc_date(timestamp_expression) }} < {{ period_end() }}
{%- endmacro %}
