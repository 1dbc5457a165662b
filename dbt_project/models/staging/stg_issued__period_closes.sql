-- No CTEs here: PostgreSQL pulls a plain view up into the query that reads it, so joins into
-- it use the table's indexes; a view with a WITH clause is planned apart (charge_conflicts then
-- read the whole raw table twice instead of two index lookups per duplicate).
select
    close_id,
    period,
    kind,
    closed_at,
    closed_by,
    invoice_count,
    event_count,
    priced_through
from {{ source('issued', 'period_closes') }}
