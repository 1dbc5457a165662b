-- Only dbt staging models read the dbt sources. billing.invoices and billing.invoice_lines
-- (security_invoker views) therefore read the issued tables through staging views
-- (stg_issued__invoices, stg_issued__invoice_lines, stg_issued__invoice_voids), so every
-- reader of those marts needs USAGE on schema staging. Which staging views they may read is
-- granted per model in dbt (config grants); no other staging relation becomes readable, and
-- row-level security of the issued tables still decides which rows a reader sees.
grant usage on schema staging to billing_renderer, billing_tenant;
