{#- Date helpers dispatched per adapter: models stay portable (ARCHITECTURE, scale-out path). -#}

{#- The UTC calendar date of a timestamp with time zone. -#}
{% macro utc_date(timestamp_expression) -%}
    {{ return(adapter.dispatch('utc_date', 'billing')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__utc_date(timestamp_expression) -%}
    to_date({{ timestamp_expression }})
{%- endmacro %}

{% macro postgres__utc_date(timestamp_expression) -%}
    cast(({{ timestamp_expression }} at time zone 'UTC') as date)
{%- endmacro %}

{#- 'YYYY-MM' of a date. -#}
{% macro month_label(date_expression) -%}
    {{ return(adapter.dispatch('month_label', 'billing')(date_expression)) }}
{%- endmacro %}

{% macro default__month_label(date_expression) -%}
    date_format({{ date_expression }}, 'yyyy-MM')
{%- endmacro %}

{% macro postgres__month_label(date_expression) -%}
    to_char({{ date_expression }}, 'YYYY-MM')
{%- endmacro %}

{#- One row per day of the run's period: columns day (date), day_of_period (1..D). -#}
{% macro days_of_period() -%}
    {{ return(adapter.dispatch('days_of_period', 'billing')()) }}
{%- endmacro %}

{% macro default__days_of_period() -%}
    select
        day,
        datediff(day, {{ period_start() }}) + 1 as day_of_period
    from (
        select explode(sequence({{ period_start() }}, date_sub({{ period_end() }}, 1))) as day
    ) as days
{%- endmacro %}

{% macro postgres__days_of_period() -%}
    select
        cast(day as date) as day,
        cast(day as date) - {{ period_start() }} + 1 as day_of_period
    from generate_series(
        {{ period_start() }}, {{ period_end() }} - 1, interval '1 day'
    ) as day
{%- endmacro %}

{#- ISO date text 'YYYY-MM-DD' of a date. -#}
{% macro date_text(date_expression) -%}
    {{ return(adapter.dispatch('date_text', 'billing')(date_expression)) }}
{%- endmacro %}

{% macro default__date_text(date_expression) -%}
    date_format({{ date_expression }}, 'yyyy-MM-dd')
{%- endmacro %}

{% macro postgres__date_text(date_expression) -%}
    to_char({{ date_expression }}, 'YYYY-MM-DD')
{%- endmacro %}
