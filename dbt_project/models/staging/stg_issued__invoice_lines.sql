-- No CTEs here: PostgreSQL pulls a plain view up into the query that reads it, so joins into
-- it use the table's indexes; a view with a WITH clause is planned apart (charge_conflicts then
-- read the whole raw table twice instead of two index lookups per duplicate).
select
    invoice_number,
    line_number,
    tenant_id,
    line_type,
    description,
    usage_period,
    operator_id,
    direction,
    account_tier,
    rule_id,
    fee_id,
    quantity,
    unit_price,
    amount,
    service_start,
    service_end,
    period_days
from {{ source('issued', 'issued_invoice_lines') }}
