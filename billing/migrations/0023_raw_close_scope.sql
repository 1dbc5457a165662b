-- The raw rows a close checks, readable without scanning the whole history (issue 19).
-- The raw suite (expectations/suites.py) checks the rows of the month being closed and those
-- landed since the last close (issue 18). It used to check keys and ranges on every row ever
-- landed, and to read the rows in scope through a query that Great Expectations executes in
-- full to learn its columns: 45-60 s of a 10M-event close, growing with every month.
--
-- raw.message_charged_in_close_scope: those rows, for the month named by the session setting
-- billing.close_period (YYYY-MM; the suite's connection sets it), with the two time columns
-- the suite bounds. Without the setting, only the rows landed since the last close.
-- Raw rows are append-only (the loader may only insert), so a row out of scope was checked by
-- the close that had it in scope.
--
-- BRIN indexes: landing and event times grow with the stream sequence, so a few kilobytes
-- of block ranges find the month's rows and the newest ones; autosummarize keeps the ranges
-- of new rows summarized as they fill.

create index if not exists message_charged_landed_at_brin
    on raw.message_charged using brin (landed_at) with (autosummarize = on);
create index if not exists message_charged_occurred_at_brin
    on raw.message_charged using brin (occurred_at) with (autosummarize = on);

create or replace view raw.message_charged_in_close_scope with (security_invoker = true) as
with

close_period as (

    select
        cast(to_date(period, 'YYYY-MM') as timestamp) at time zone 'UTC' as starts_at,
        cast(to_date(period, 'YYYY-MM') + interval '1 month' as timestamp)
            at time zone 'UTC' as ends_at
    from (select nullif(current_setting('billing.close_period', true), '') as period) as setting

),

last_close as (

    select coalesce(max(closed_at), '-infinity') as closed_at from billing.period_closes

)

select
    charged.*,
    extract(epoch from charged.occurred_at - charged.landed_at) as seconds_ahead_of_landing,
    extract(epoch from charged.landed_at - charged.occurred_at) as seconds_old_at_landing
from raw.message_charged as charged
where
    (
        charged.occurred_at >= (select close_period.starts_at from close_period)
        and charged.occurred_at < (select close_period.ends_at from close_period)
    )
    or charged.landed_at > (select last_close.closed_at from last_close);

comment on view raw.message_charged_in_close_scope is
    'The landed rows a close checks: those of the month in the session setting '
    'billing.close_period (YYYY-MM) and those landed since the last close, with '
    'seconds_ahead_of_landing and seconds_old_at_landing (the loader''s time bounds).';
grant select on raw.message_charged_in_close_scope to billing_transformer, billing_finance,
    billing_auditor;
