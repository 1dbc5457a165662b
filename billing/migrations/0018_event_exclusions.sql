-- Finance-approved exclusions of landed events (issue 18, SPEC section 1): an event that
-- passed the contract but can never be billed (an unknown tenant, an unknown operator, a 1970
-- event of a real tenant) is excluded instead of inventing an account, a tier or a rule that
-- would then bill the junk. Excluded events are never priced or billed and never block a
-- close; the ledger shows them as `excluded`.
--
-- Append-only: a row excludes an event (action 'exclude') or revokes its exclusion (a later
-- row, action 'include'); the latest row of an event decides. No row is ever updated or
-- deleted, by any role (the trigger below refuses UPDATE, DELETE and TRUNCATE).
-- Insert only by members of billing_finance, in their own name: excluded_by and excluded_at
-- take their defaults only (column-level grants), and row-level security is forced.
create table if not exists billing.event_exclusions (
    exclusion_id bigint generated always as identity primary key,
    event_id uuid not null,
    action text not null default 'exclude' check (action in ('exclude', 'include')),
    reason text not null check (length(btrim(reason)) > 0),
    excluded_by text not null default session_user,
    excluded_at timestamptz not null default now()
);
create index if not exists event_exclusions_event on billing.event_exclusions (event_id, exclusion_id);
comment on table billing.event_exclusions is
    'One row per exclusion of a landed event, or per revocation of one (action include), by '
    'Finance (append-only; the latest row of an event decides). Key exclusion_id.';
comment on column billing.event_exclusions.excluded_by is
    'The login that appended the row (session_user; never chosen by the caller).';

grant select on billing.event_exclusions to
    billing_transformer, billing_finance, billing_auditor;
grant insert (event_id, action, reason) on billing.event_exclusions to billing_finance;
revoke all on billing.event_exclusions from billing_tenant;

alter table billing.event_exclusions enable row level security;
alter table billing.event_exclusions force row level security;
drop policy if exists readers_select_all on billing.event_exclusions;
create policy readers_select_all on billing.event_exclusions for select
    to billing_transformer, billing_finance, billing_auditor using (true);
drop policy if exists finance_insert on billing.event_exclusions;
create policy finance_insert on billing.event_exclusions for insert to billing_finance
    with check (excluded_by = session_user);

-- Append-only for every role, the owner included.
create or replace function billing.event_exclusions_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'billing.event_exclusions is append-only: revoke an exclusion with a new row '
        '(billing events include EVENT_ID --reason TEXT), never by % ', tg_op
        using errcode = 'insufficient_privilege';
end
$$;
drop trigger if exists event_exclusions_append_only on billing.event_exclusions;
create trigger event_exclusions_append_only
    before update or delete on billing.event_exclusions
    for each row execute function billing.event_exclusions_append_only();
drop trigger if exists event_exclusions_no_truncate on billing.event_exclusions;
create trigger event_exclusions_no_truncate
    before truncate on billing.event_exclusions
    for each statement execute function billing.event_exclusions_append_only();

-- What a new row may say, checked once per statement (one scan of raw for a whole --file):
-- the event landed; an exclusion is of an event not excluded now and not billed on a non-void
-- issued invoice (void that invoice instead); a revocation is of an event excluded now; one
-- row per event per statement.
create or replace function billing.event_exclusions_check() returns trigger
language plpgsql as $$
declare
    bad record;
begin
    select inserted.event_id into bad
    from inserted
    group by inserted.event_id
    having count(*) > 1
    limit 1;
    if found then
        raise exception 'event % is listed twice in one exclusion', bad.event_id
            using errcode = 'check_violation';
    end if;

    select inserted.event_id into bad
    from inserted
    where not exists (
        select 1 from raw.message_charged as landed where landed.event_id = inserted.event_id
    )
    limit 1;
    if found then
        raise exception 'no landed event has id %', bad.event_id
            using errcode = 'foreign_key_violation';
    end if;

    select inserted.event_id, inserted.action into bad
    from inserted
    left join lateral (
        select earlier.action
        from billing.event_exclusions as earlier
        where
            earlier.event_id = inserted.event_id
            and earlier.exclusion_id < inserted.exclusion_id
        order by earlier.exclusion_id desc
        limit 1
    ) as latest on true
    where coalesce(latest.action, 'include') = inserted.action
    limit 1;
    if found then
        raise exception 'event % is % already', bad.event_id,
            case bad.action when 'exclude' then 'excluded' else 'not excluded' end
            using errcode = 'check_violation';
    end if;

    select inserted.event_id, billed.invoice_number into bad
    from inserted
    inner join billing.issued_invoice_events as billed
        on billed.event_id = inserted.event_id
    where
        inserted.action = 'exclude'
        and not exists (
            select 1 from billing.invoice_voids as voids
            where voids.invoice_number = billed.invoice_number
        )
    limit 1;
    if found then
        raise exception 'event % is billed on %, which is not void: void that invoice instead',
            bad.event_id, bad.invoice_number
            using errcode = 'check_violation';
    end if;
    return null;
end
$$;
drop trigger if exists event_exclusions_check on billing.event_exclusions;
create trigger event_exclusions_check
    after insert on billing.event_exclusions
    referencing new table as inserted
    for each statement execute function billing.event_exclusions_check();
