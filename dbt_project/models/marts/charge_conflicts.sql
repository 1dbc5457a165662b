{#- One row per duplicate landing of an event_id whose payload differs from the landing that
    is billed (the earliest stream sequence). Internal: for the producers' owners and Finance.
    Key: duplicate_stream_sequence. -#}
with

landed_messages as (

    select * from {{ ref('stg_raw__message_charged') }}
    where is_duplicate

),

{#- Two import CTEs over the same source, each used once: PostgreSQL inlines them and reads
    the two landings of each duplicate by primary key. One CTE used twice is materialized
    instead: the whole raw table (payloads included) written to disk, 58 s at 10M events. -#}
billed_messages as (

    select * from {{ source('raw', 'message_charged') }}

),

duplicate_messages as (

    select * from {{ source('raw', 'message_charged') }}

),

final as (

    select
        landed_messages.event_id,
        landed_messages.first_stream_sequence as billed_stream_sequence,
        landed_messages.stream_sequence as duplicate_stream_sequence,
        billed.payload as billed_payload,
        duplicate.payload as duplicate_payload,
        duplicate.landed_at as duplicate_landed_at
    from landed_messages
    inner join billed_messages as billed
        on landed_messages.first_stream_sequence = billed.stream_sequence
    inner join duplicate_messages as duplicate
        on landed_messages.stream_sequence = duplicate.stream_sequence
    where billed.payload <> duplicate.payload

)

select * from final
