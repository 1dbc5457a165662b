with

landed as (

    select * from {{ source('raw', 'message_charged') }}

),

final as (

    select
        stream_sequence,
        event_id,
        payload,
        landed_at
    from landed

)

select * from final
