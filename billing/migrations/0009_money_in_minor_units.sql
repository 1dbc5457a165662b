-- Money in each currency's minor units (SPEC section 4, revised: JPY 0, EUR/USD/GBP 2,
-- BHD/KWD 3). Issued amounts were numeric(18, 2), which cannot hold a BHD amount such as
-- 13.477 (the insert would round it to 13.48). They become numeric without a scale limit:
-- each value keeps exactly the places the close rounded it to, so existing EUR/USD/GBP rows
-- keep their two places and read back unchanged.
--
-- PostgreSQL refuses to change the type of a column a view reads. The only such views are
-- dbt's models over the issued tables (staging.stg_issued__*, billing.invoices, ...), owned by
-- billing_transformer; they are dropped here and the next dbt run creates them again.
do $$
declare
    dependent record;
begin
    for dependent in
        select distinct view_namespace.nspname as schema_name, view_class.relname as view_name
        from pg_depend as dependency
        inner join pg_rewrite as rewrite on rewrite.oid = dependency.objid
        inner join pg_class as view_class on view_class.oid = rewrite.ev_class
        inner join pg_namespace as view_namespace on view_namespace.oid = view_class.relnamespace
        where
            dependency.classid = 'pg_rewrite'::regclass
            and dependency.refobjid in (
                'billing.issued_invoices'::regclass, 'billing.issued_invoice_lines'::regclass
            )
            and view_class.oid <> dependency.refobjid
            and pg_get_userbyid(view_class.relowner) = 'billing_transformer'
    loop
        execute format(
            'drop view if exists %I.%I cascade', dependent.schema_name, dependent.view_name
        );
    end loop;
end
$$;

alter table billing.issued_invoices
    alter column subtotal type numeric,
    alter column total type numeric;
alter table billing.issued_invoice_lines
    alter column amount type numeric;

comment on column billing.issued_invoices.subtotal is
    'Sum of the line amounts, in the currency''s minor units (JPY 0, EUR 2, BHD 3 places).';
comment on column billing.issued_invoice_lines.amount is
    'Rounded half-up once, to the currency''s minor units (JPY 0, EUR 2, BHD 3 places).';
