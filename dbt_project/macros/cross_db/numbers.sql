{#- Rounding half-up to `places` decimals: the one rounding rule of SPEC section 4.
    PostgreSQL's round(numeric) and Spark's round both round half away from zero, which is
    half-up for the non-negative amounts billed here. -#}
{% macro round_half_up(expression, places) -%}
    {{ return(adapter.dispatch('round_half_up', 'billing')(expression, places)) }}
{%- endmacro %}

{% macro default__round_half_up(expression, places) -%}
    round({{ expression }}, {{ places }})
{%- endmacro %}

{% macro postgres__round_half_up(expression, places) -%}
    round(cast({{ expression }} as numeric), {{ places }})
{%- endmacro %}

{#- Exact decimal text of a number (no exponent, no float): for line descriptions. -#}
{% macro decimal_text(expression) -%}
    {{ return(adapter.dispatch('decimal_text', 'billing')(expression)) }}
{%- endmacro %}

{% macro default__decimal_text(expression) -%}
    cast({{ expression }} as string)
{%- endmacro %}

{% macro postgres__decimal_text(expression) -%}
    cast(trim_scale(cast({{ expression }} as numeric)) as text)
{%- endmacro %}
