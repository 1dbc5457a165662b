{#- Between `name as` and the CTE's `(`: have the engine inline a CTE that is read more than
    once instead of computing it once into a temporary store. PostgreSQL materializes such a
    CTE: for int_invoiceable_charges that meant writing every priced event of the month to a
    temporary file (2.4 GB, 24 of the 38 s of invoice_draft_lines at 10M events), although
    the second reader (replacements of voided invoices) needs a handful of rows. -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'billing')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}

{% macro postgres__inline_cte() -%}
    not materialized
{%- endmacro %}
