-- No CTEs here: PostgreSQL pulls a plain view up into the query that reads it, so joins into
-- it use the table's indexes; a view with a WITH clause is planned apart (charge_conflicts then
-- read the whole raw table twice instead of two index lookups per duplicate).
select
    invoice_number,
    period,
    seq,
    tenant_id,
    currency,
    subtotal,
    total,
    line_count,
    issued_at,
    replaces_invoice_number
from {{ source('issued', 'issued_invoices') }}
