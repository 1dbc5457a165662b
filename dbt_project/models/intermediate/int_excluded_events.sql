{#- A view: a handful of rows, read by the pricing model and the ledger. -#}
{{ config(materialized='view') }}

with

exclusions as (

    select * from {{ ref('stg_finance__event_exclusions') }}

),

-- The latest row of each event decides: an exclusion stands until a later row revokes it.
latest as (

    select exclusions.*
    from exclusions
    where
        not exists (
            select 1
            from exclusions as later
            where
                later.event_id = exclusions.event_id
                and later.exclusion_id > exclusions.exclusion_id
        )

),

final as (

    select
        event_id,
        exclusion_id,
        reason,
        excluded_by,
        excluded_at
    from latest
    where action = 'exclude'

)

select * from final
