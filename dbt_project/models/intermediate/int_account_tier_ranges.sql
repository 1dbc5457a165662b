{#- The tier in force on a day is the row with the latest effective_from <= that day:
    each tier row holds from its effective_from until the next row's (exclusive). -#}
with

account_tiers as (

    select * from {{ ref('stg_ref__account_tiers') }}

),

ranged as (

    select
        tenant_id,
        account_tier,
        effective_from as valid_from,
        lead(effective_from) over (
            partition by tenant_id order by effective_from
        ) as valid_to
    from account_tiers

)

select * from ranged
