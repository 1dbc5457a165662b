with

pricing_rules as (

    select * from {{ ref('pricing_rules') }}

),

final as (

    select
        cast(rule_id as {{ dbt.type_string() }}) as rule_id,
        cast(account_tier as {{ dbt.type_string() }}) as account_tier,
        cast(operator_id as {{ dbt.type_string() }}) as operator_id,
        cast(direction as {{ dbt.type_string() }}) as direction,
        cast(currency as {{ dbt.type_string() }}) as currency,
        unit_price,
        effective_from,
        effective_to
    from pricing_rules

)

select * from final
