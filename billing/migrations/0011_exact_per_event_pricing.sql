-- Databases built before issue 17: the per-event pricing table kept prices, amounts and
-- margin_pct as numeric(28, 6), which rounds a ratio (and would round a catalogue value with
-- more places); it now keeps them exact (numeric). dbt never rebuilds that table (its
-- full_refresh is off, so billed events keep their pricing) and refuses a column whose type
-- changed (on_schema_change = fail), so the change is made here, in place, keeping every row.
-- Views dbt built over it (billing.priced_charges, ...) are dropped first, as PostgreSQL
-- requires; the next dbt run creates them again. billing.margins, fully derived, gains a
-- column (priced_through) and is dropped, to be rebuilt by the next run. A fresh database has
-- neither table yet, and this does nothing.
do $$
declare
    dependent record;
begin
    if to_regclass('intermediate.int_charges_priced') is not null then
        for dependent in
            select distinct view_namespace.nspname as schema_name, view_class.relname as view_name
            from pg_depend as dependency
            inner join pg_rewrite as rewrite on rewrite.oid = dependency.objid
            inner join pg_class as view_class on view_class.oid = rewrite.ev_class
            inner join pg_namespace as view_namespace
                on view_namespace.oid = view_class.relnamespace
            where
                dependency.classid = 'pg_rewrite'::regclass
                and dependency.refobjid = 'intermediate.int_charges_priced'::regclass
                and view_class.oid <> dependency.refobjid
                and pg_get_userbyid(view_class.relowner) = 'billing_transformer'
        loop
            execute format(
                'drop view if exists %I.%I cascade', dependent.schema_name, dependent.view_name
            );
        end loop;
        alter table intermediate.int_charges_priced
            alter column unit_price type numeric,
            alter column amount type numeric,
            alter column unit_cost type numeric,
            alter column cost_amount type numeric,
            alter column margin type numeric,
            alter column margin_pct type numeric;
        -- margin_pct was rounded to 6 places: compute it again, exactly.
        update intermediate.int_charges_priced
        set margin_pct = (amount - cost_amount) / amount
        where amount <> 0;
    end if;
    drop table if exists billing.margins;
end
$$;
