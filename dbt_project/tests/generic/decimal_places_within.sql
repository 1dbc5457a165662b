{#- A catalogue value must not carry more decimals than allowed, and is never rounded to fit
    (SPEC section 2): `places` decimals, or, with `currency_column`, the minor units of the
    row's currency (ISO 4217 seed: JPY 0, EUR 2, BHD 3). Fails with every offending row;
    each is also logged by its `id_column`, so the build output names the row to fix. -#}
{% test decimal_places_within(model, column_name, id_column, places=none, currency_column=none) %}

{%- if places is none and currency_column is none -%}
    {{ exceptions.raise_compiler_error(
        "decimal_places_within needs `places` or `currency_column`") }}
{%- endif -%}

{%- set offending_sql -%}
    select
        values_checked.{{ id_column }} as row_id,
        {{ decimal_text('values_checked.' ~ column_name) }} as value_text,
        {% if currency_column is none -%}
            {{ places }} as allowed_places
        {%- else -%}
            currencies.minor_units as allowed_places
        {%- endif %}
    from {{ model }} as values_checked
    {% if currency_column is not none -%}
        inner join {{ ref('iso_4217_currencies') }} as currencies
            on values_checked.{{ currency_column }} = currencies.currency
    {%- endif %}
    where
        values_checked.{{ column_name }}
        <> {{ round_half_up('values_checked.' ~ column_name,
            places if currency_column is none else 'currencies.minor_units') }}
{%- endset -%}

{%- if execute -%}
    {%- for row in run_query(offending_sql).rows -%}
        {{ log(model.identifier ~ " row " ~ id_column ~ "=" ~ row[0] ~ ": " ~ column_name ~ " "
            ~ row[1] ~ " has more than " ~ row[2] ~ " decimal places; it is never rounded:"
            ~ " correct the row in the catalogue", info=true) }}
    {%- endfor -%}
{%- endif %}

{{ offending_sql }}

{% endtest %}
