-- One row per monthly close run, written by the close at its end whatever the outcome
-- (orchestration/closing.py): what the exporter reads for the close metrics (SPEC section 6,
-- docs/observability.md). Append-only; internal (no tenant reads a row).
create table if not exists billing.close_runs (
    run_id text primary key,
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    outcome text not null check (outcome in ('succeeded', 'refused', 'failed')),
    reasons text[] not null default '{}',
    trigger text not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    invoices_issued integer not null default 0 check (invoices_issued >= 0),
    recorded_by text not null default session_user,
    check (finished_at >= started_at)
);
create index if not exists close_runs_finished_at on billing.close_runs (finished_at);
comment on table billing.close_runs is
    'One row per close run (append-only): period, outcome (succeeded | refused | failed), '
    'the refusal kinds or errors, when it started and finished.';

grant select, insert on billing.close_runs to billing_transformer;
grant select on billing.close_runs to billing_finance, billing_auditor, billing_tenant;

alter table billing.close_runs enable row level security;
alter table billing.close_runs force row level security;
drop policy if exists readers_select_all on billing.close_runs;
create policy readers_select_all on billing.close_runs for select
    to billing_transformer, billing_renderer, billing_finance, billing_auditor using (true);
drop policy if exists transformer_insert on billing.close_runs;
create policy transformer_insert on billing.close_runs for insert to billing_transformer
    with check (true);

-- The exporter counts the outbox backlog often: unpublished rows only.
create index if not exists invoice_outbox_unpublished on billing.invoice_outbox (created_at)
    where published_at is null;
