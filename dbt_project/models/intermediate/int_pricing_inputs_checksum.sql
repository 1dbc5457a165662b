{#- One row: a checksum of everything per-event pricing reads (accounts' currency, tiers,
    pricing rules, operator costs). When it changes, int_charges_priced reprices every event
    not yet on an issued invoice. -#}
with

checksum as (

    {{ content_checksum([
        ref('stg_ref__accounts'),
        ref('stg_ref__account_tiers'),
        ref('stg_catalogue__pricing_rules'),
        ref('stg_catalogue__operator_costs'),
    ]) }}

)

select * from checksum
