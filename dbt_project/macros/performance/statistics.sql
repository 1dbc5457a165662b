{#- Post-hook of the large per-event models: refresh the planner's statistics right after a
    build, so the models read next in the same run are planned on the real row counts.
    Without it PostgreSQL plans on a never-analyzed table (a few thousand rows assumed): in a
    10M-event close, billing.margins then sorted on disk (36 s, 4 s with statistics). -#}
{% macro refresh_statistics() -%}
    {{ return(adapter.dispatch('refresh_statistics', 'billing')()) }}
{%- endmacro %}

{% macro default__refresh_statistics() -%}
    {#- Engines that gather statistics themselves (or need none) do nothing here. -#}
{%- endmacro %}

{% macro postgres__refresh_statistics() -%}
    analyze {{ this }}
{%- endmacro %}

{% macro spark__refresh_statistics() -%}
    analyze table {{ this }} compute statistics
{%- endmacro %}

{#- Post-hook of an incremental model: an index on `columns` of the rows matching
    `condition`, for queries that read a small slice of a large table (e.g. the unpriced
    events among millions of priced ones). Only for incremental models: the index persists with
    the table (a table model's rebuild would clash with the previous table's index name). -#}
{% macro partial_index(suffix, columns, condition) -%}
    {{ return(adapter.dispatch('partial_index', 'billing')(suffix, columns, condition)) }}
{%- endmacro %}

{% macro default__partial_index(suffix, columns, condition) -%}
{%- endmacro %}

{% macro postgres__partial_index(suffix, columns, condition) -%}
    create index if not exists {{ this.identifier }}_{{ suffix }}
        on {{ this }} ({{ columns | join(', ') }}) where {{ condition }}
{%- endmacro %}
