with

account_tiers as (

    select * from {{ ref('stg_ref__account_tiers') }}

),

ranged as (

    -- ref.account_tiers has no end date: a tier holds until the tenant's next tier starts.
    select
        tenant_id,
        account_tier,
        effective_from,
        lead(effective_from) over (
            partition by tenant_id order by effective_from
        ) as effective_to
    from account_tiers

)

select * from ranged
