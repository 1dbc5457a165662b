-- No CTEs here: PostgreSQL pulls a plain view up into the query that reads it. Unlike the
-- incremental stg_raw__message_charged (what the last build read), this is raw as it is now:
-- the ledger counts every landing, built or not.
select
    stream_sequence,
    event_id,
    tenant_id,
    segments,
    occurred_at,
    {{ month_label(utc_date('occurred_at')) }} as period,
    landed_at
from {{ source('raw', 'message_charged') }}
