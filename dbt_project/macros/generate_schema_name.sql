{#- Schemas are named for what they hold (staging, intermediate, billing, catalogue), not
    prefixed with the target schema: Finance queries billing.* in every environment.
    A scratch run (var 'scratch_schema', set by Finance's what-if: docs/finance-tools.md)
    builds every seed, model and stored test failure into that one schema instead, which the
    run created and drops afterwards: it never writes a relation of the production schemas. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set scratch = var('scratch_schema', none) -%}
    {%- if scratch is not none -%}
        {%- if not modules.re.match('^scratch_[a-z0-9_]{1,50}$', scratch | string) -%}
            {{ exceptions.raise_compiler_error(
                "var 'scratch_schema' must be a scratch_* schema (got " ~ scratch ~ ")") }}
        {%- endif -%}
        {{ scratch }}
    {%- elif custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
