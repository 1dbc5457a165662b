with

operators as (

    select * from {{ ref('operators') }}

),

final as (

    select
        cast(operator_id as {{ dbt.type_string() }}) as operator_id,
        cast(display_name as {{ dbt.type_string() }}) as display_name,
        cast(country as {{ dbt.type_string() }}) as country
    from operators

)

select * from final
