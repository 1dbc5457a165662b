{#- Schemas are named for what they hold (staging, intermediate, billing, catalogue), not
    prefixed with the target schema: Finance queries billing.* in every environment. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
