with

account_tiers as (

    select * from {{ source('ref', 'account_tiers') }}

),

final as (

    select
        tenant_id,
        account_tier,
        effective_from
    from account_tiers

)

select * from final
