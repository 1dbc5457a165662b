{#- For each row of `relation`: the smallest `order_by` value among rows sharing
    `partition_by` (the earliest occurrence). -#}
{% macro first_occurrence(partition_by, order_by) -%}
    {{ return(adapter.dispatch('first_occurrence', 'billing')(partition_by, order_by)) }}
{%- endmacro %}

{% macro default__first_occurrence(partition_by, order_by) -%}
    min({{ order_by }}) over (partition by {{ partition_by }})
{%- endmacro %}
