-- The open-month preview shows open months only (issue 20, docs/preview.md). The preview
-- relations (billing.invoice_previews, billing.invoice_preview_lines) hold the last build;
-- after a close they still hold the closed month's drafts until the next build. A restrictive
-- policy on them (dbt post-hook billing_security, meta open_periods_only) hides every row of a
-- closed month from every reader, through this function: tenants cannot read
-- billing.period_closes (row-level security), so it runs as the owner and answers only
-- "is this month closed".

-- The owner reads the closes for the function below (row-level security is forced).
drop policy if exists owner_select on billing.period_closes;
create policy owner_select on billing.period_closes for select to billing_owner using (true);

create or replace function billing.period_is_closed(period text) returns boolean
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select exists(
        select 1
        from billing.period_closes as closes
        where closes.period = period_is_closed.period and closes.kind = 'close'
    )
$$;
revoke all on function billing.period_is_closed(text) from public;
grant execute on function billing.period_is_closed(text) to
    billing_transformer, billing_renderer, billing_finance, billing_auditor, billing_tenant;
comment on function billing.period_is_closed(text) is
    'True once the period''s first close was issued (billing.period_closes, kind close). '
    'Runs as the owner: a tenant learns whether a month is closed, nothing else.';
