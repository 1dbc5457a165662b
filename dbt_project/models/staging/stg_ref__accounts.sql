with

accounts as (

    select * from {{ source('ref', 'accounts') }}

),

final as (

    select
        tenant_id,
        name as account_name,
        cast(currency as {{ dbt.type_string() }}) as currency,
        billing_email,
        activated_on,
        deactivated_on,
        address,
        cast(country as {{ dbt.type_string() }}) as country,
        tax_id,
        payment_terms_days
    from accounts

)

select * from final
