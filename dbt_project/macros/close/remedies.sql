{#- How many event ids a close blocker writes out in its exclude command; past that, the
    command lists them into a file with `billing ledger --ids` (a shell line stays short). -#}
{% macro max_listed_event_ids() -%}
    20
{%- endmacro %}
