with

operator_costs as (

    select * from {{ ref('operator_costs') }}

),

final as (

    select
        cast(cost_id as {{ dbt.type_string() }}) as cost_id,
        cast(operator_id as {{ dbt.type_string() }}) as operator_id,
        cast(direction as {{ dbt.type_string() }}) as direction,
        cast(currency as {{ dbt.type_string() }}) as currency,
        unit_cost,
        effective_from,
        effective_to
    from operator_costs

)

select * from final
