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

{#- An amount in a currency, rounded half-up to the currency's minor units (SPEC section 4,
    revised: JPY 0, EUR/USD/GBP 2, BHD/KWD 3), `minor_units` being an integer expression
    (stg_catalogue__currencies.minor_units). The result carries exactly those places. -#}
{% macro round_money(expression, minor_units) -%}
    {{ return(adapter.dispatch('round_money', 'billing')(expression, minor_units)) }}
{%- endmacro %}

{#- Spark's round needs a literal scale: one branch per minor-unit count ISO 4217 uses. -#}
{% macro default__round_money(expression, minor_units) -%}
    case {{ minor_units }}
        {%- for places in range(5) %}
        when {{ places }} then {{ round_half_up(expression, places) }}
        {%- endfor %}
    end
{%- endmacro %}

{% macro postgres__round_money(expression, minor_units) -%}
    round(cast({{ expression }} as numeric), {{ minor_units }})
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

{#- An exact decimal type with no scale limit, for per-event values that must never be
    rounded by a column type (dbt.type_numeric() is numeric(28, 6)): catalogue prices are
    carried as written, margin_pct as the engine divides. Spark's decimal needs a scale. -#}
{% macro type_exact_numeric() -%}
    {{ return(adapter.dispatch('type_exact_numeric', 'billing')()) }}
{%- endmacro %}

{% macro default__type_exact_numeric() -%}
    decimal(38, 18)
{%- endmacro %}

{% macro postgres__type_exact_numeric() -%}
    numeric
{%- endmacro %}
