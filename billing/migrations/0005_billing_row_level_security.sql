-- Row-level security on the tables the migrations create, forced so that even the owner
-- needs a policy. Model tables get theirs from the dbt post-hook (macro billing_security).

do $$
declare
    relation text;
begin
    foreach relation in array array[
        'issued_invoices', 'issued_invoice_lines', 'issued_invoice_events', 'invoice_voids',
        'period_closes', 'invoice_documents', 'invoice_outbox'
    ] loop
        execute format('alter table billing.%I enable row level security', relation);
        execute format('alter table billing.%I force row level security', relation);
        -- Readers of every row.
        execute format('drop policy if exists readers_select_all on billing.%I', relation);
        execute format(
            'create policy readers_select_all on billing.%I for select '
            'to billing_transformer, billing_renderer, billing_finance, billing_auditor using (true)',
            relation);
    end loop;

    -- Tenant-facing: a tenant reads its own rows; internal tables have no tenant policy.
    foreach relation in array array[
        'issued_invoices', 'issued_invoice_lines', 'issued_invoice_events', 'invoice_voids'
    ] loop
        execute format('drop policy if exists tenant_select_own on billing.%I', relation);
        execute format(
            'create policy tenant_select_own on billing.%I for select to billing_tenant '
            'using (tenant_id = billing.current_tenant_id())',
            relation);
    end loop;

    -- The close appends issued invoices.
    foreach relation in array array[
        'issued_invoices', 'issued_invoice_lines', 'issued_invoice_events', 'period_closes'
    ] loop
        execute format('drop policy if exists transformer_insert on billing.%I', relation);
        execute format(
            'create policy transformer_insert on billing.%I for insert to billing_transformer '
            'with check (true)',
            relation);
    end loop;

    -- The renderer records documents and events.
    foreach relation in array array['invoice_documents', 'invoice_outbox'] loop
        execute format('drop policy if exists renderer_insert on billing.%I', relation);
        execute format(
            'create policy renderer_insert on billing.%I for insert to billing_renderer '
            'with check (true)',
            relation);
    end loop;
end
$$;

-- The renderer marks outbox rows published, and nothing else.
drop policy if exists renderer_mark_published on billing.invoice_outbox;
create policy renderer_mark_published on billing.invoice_outbox for update to billing_renderer
    using (published_at is null) with check (published_at is not null);

-- Finance voids, in its own name.
drop policy if exists finance_insert_own_name on billing.invoice_voids;
create policy finance_insert_own_name on billing.invoice_voids for insert to billing_finance
    with check (voided_by = session_user);
