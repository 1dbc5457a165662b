with

tier_fees as (

    select * from {{ ref('tier_fees') }}

),

final as (

    select
        cast(fee_id as {{ dbt.type_string() }}) as fee_id,
        cast(account_tier as {{ dbt.type_string() }}) as account_tier,
        cast(currency as {{ dbt.type_string() }}) as currency,
        monthly_fee,
        effective_from,
        effective_to
    from tier_fees

)

select * from final
