{#- The row of an effective-dated relation that is in force on a day: its validity runs from
    effective_from (inclusive) to effective_to (exclusive; null = still open), as in the
    catalogues (SPEC section 2) and int_account_tier_ranges. For a join condition:

        left join pricing_rules
            on
                with_tier.account_tier = pricing_rules.account_tier
                and {{ in_force('pricing_rules', on='with_tier.occurred_on') }}

    `versions` is the alias of the effective-dated relation, `on` the day (a date
    expression). Other validity columns only where a rule names them otherwise (an account is
    active from activated_on to deactivated_on): `from_column=`, `to_column=`.
    Portable SQL, so it needs no dispatch. -#}
{% macro in_force(versions, on, from_column='effective_from', to_column='effective_to') -%}
    ({{ versions }}.{{ from_column }} <= {{ on }}
    and ({{ versions }}.{{ to_column }} is null or {{ on }} < {{ versions }}.{{ to_column }}))
{%- endmacro %}
