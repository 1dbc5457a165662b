with

currencies as (

    select * from {{ ref('iso_4217_currencies') }}

),

final as (

    select
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(minor_units as {{ dbt.type_int() }}) as minor_units
    from currencies

)

select * from final
