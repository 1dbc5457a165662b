-- No CTEs here: PostgreSQL pulls a plain view up into the query that reads it.
select
    exclusion_id,
    event_id,
    action,
    reason,
    excluded_by,
    excluded_at
from {{ source('finance', 'event_exclusions') }}
