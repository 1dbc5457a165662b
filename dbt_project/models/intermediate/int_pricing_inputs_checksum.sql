with

checksum as (

    {{ content_checksum([
        ref('stg_ref__accounts'),
        ref('stg_ref__account_tiers'),
        ref('stg_catalogue__pricing_rules'),
        ref('stg_catalogue__operator_costs'),
        ref('stg_finance__event_exclusions'),
    ]) }}

)

select * from checksum
