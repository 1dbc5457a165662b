-- No CTEs here: PostgreSQL pulls a plain view up into the query that reads it. The original
-- bytes stay in raw (the ledger needs the reason, not the payload).
select
    stream_sequence,
    subject,
    reason,
    rejected_at,
    {{ month_label(utc_date('rejected_at')) }} as period
from {{ source('raw', 'rejected_messages') }}
