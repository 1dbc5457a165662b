-- No CTEs here: PostgreSQL pulls a plain view up into the query that reads it.
select
    invoice_number,
    tenant_id,
    resolution,
    reason,
    resolved_at,
    resolved_by
from {{ source('issued', 'void_resolutions') }}
