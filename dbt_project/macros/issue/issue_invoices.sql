{#- Step (c) of the close (SPEC section 4): issue the drafts of var 'period' in ONE transaction.
    Run with: dbt run-operation issue_invoices --vars '{period: 2026-10}'
    after `dbt build` has built the drafts and the blocking checks have passed.

    - serializes on an advisory transaction lock for the period;
    - refuses drafts that are stale (built for another period, or before another issue ran)
      and any period with close blockers;
    - issues every draft with the number the drafts model gave it (INV-YYYYMM-NNNNNN,
      gapless; UNIQUE (period, seq) backs it up), and refuses a period that would need more
      than 999,999 numbers (six digits);
    - issues from one consistent set: the event -> line map the build computed
      (invoice_draft_events) is recorded as built, and only if it was built from the same
      state as the usage of the draft lines (int_draft_usage_quantities), every usage line
      still has that usage's quantity, events and exact amount, and nothing was priced,
      issued, voided or excluded since (a few rows per tenant and an index probe are read,
      not the events): a re-price between the build and the issue is refused, never
      half-applied;
    - resolves every void of the period that requires a replacement whose replacement came
      out empty (billing.void_resolutions, with the reason), so it blocks no later close;
    - appends to billing.issued_invoices, issued_invoice_lines, issued_invoice_events and
      period_closes, which no model ever rebuilds;
    - ends with an explicit commit (dbt would roll back otherwise). Any error before it
      leaves nothing behind;
    - stores with each invoice the snapshot its documents print (SPEC section 4): the bill-to
      from the accounts, the issuer and the tax statement given as arguments (the close passes
      its settings: --args '{issuer: {name, address, vat_id, email}, tax: {statement,
      reason}}'), payment terms and due date, the currency's minor units, the catalogues'
      checksums, and each usage line's operator display name. -#}
{% macro issue_invoices(issuer=none, tax=none) -%}
    {{ return(adapter.dispatch('issue_invoices', 'billing')(issuer, tax)) }}
{%- endmacro %}

{#- A text value as an SQL string literal. -#}
{% macro _sql_text(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{#- The issuer and tax arguments, checked: every field a non-empty string. -#}
{% macro _issue_snapshot_args(issuer, tax) -%}
    {%- set wanted = {
        'issuer': ['name', 'address', 'vat_id', 'email'],
        'tax': ['statement', 'reason'],
    } -%}
    {%- set given = {'issuer': issuer, 'tax': tax} -%}
    {%- for argument, fields in wanted.items() -%}
        {%- for field in fields -%}
            {%- set value = given[argument].get(field) if given[argument] is mapping else none -%}
            {%- if value is none or not (value | string | trim) -%}
                {{ exceptions.raise_compiler_error(
                    "issue_invoices needs " ~ argument ~ "." ~ field ~ ": run it with --args "
                    ~ "'{issuer: {name, address, vat_id, email}, tax: {statement, reason}}' "
                    ~ "(the close passes BILLING_ISSUER_* and BILLING_TAX_*)") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endmacro %}

{% macro postgres__issue_invoices(issuer, tax) -%}
    {%- do _issue_snapshot_args(issuer, tax) -%}
    {%- set period = _period_parts() -%}
    {%- set label = period['label'] -%}
    {%- set yyyymm = label | replace('-', '') -%}
    {%- set drafts = ref('invoice_drafts') -%}
    {%- set draft_lines = ref('invoice_draft_lines') -%}
    {%- set invoiceable = ref('int_invoiceable_charges') -%}
    {%- set draft_events = ref('invoice_draft_events') -%}
    {%- set usage_quantities = ref('int_draft_usage_quantities') -%}
    {%- set charges = ref('int_charges_priced') -%}
    {%- set close_status = ref('int_period_close_status') -%}
    {%- set blockers = ref('close_blockers') -%}
    {%- set awaiting = ref('int_voids_awaiting_replacement') -%}
    {%- set billed = ref('int_billed_events') -%}
    {%- set staged = ref('stg_raw__message_charged') -%}
    {%- set accounts = ref('stg_ref__accounts') -%}
    {%- set currencies = ref('iso_4217_currencies') -%}
    {%- set operators = ref('stg_catalogue__operators') -%}

    {%- set issue_sql -%}
    select pg_advisory_xact_lock(hashtext('billing.issue_invoices'), {{ period['number'] }});

    do $issue_guard$
    declare
        close_id_seen bigint;
        voids_seen bigint;
        exclusion_seen bigint;
        blocker_count bigint;
    begin
        if exists (select 1 from {{ close_status }} where period <> '{{ label }}')
            or exists (select 1 from {{ drafts }} where period <> '{{ label }}')
            or exists (select 1 from {{ blockers }} where period <> '{{ label }}')
        then
            raise exception 'the drafts were built for another period than {{ label }}: run the close of {{ label }} again';
        end if;
        select last_close_id, void_count, last_exclusion_id
            into close_id_seen, voids_seen, exclusion_seen from {{ close_status }};
        if (select coalesce(max(close_id), 0) from billing.period_closes) <> close_id_seen then
            raise exception 'invoices were issued since the drafts of {{ label }} were built: run the close again';
        end if;
        if (select count(*) from billing.invoice_voids) <> voids_seen then
            raise exception 'an invoice was voided since the drafts of {{ label }} were built: run the close again';
        end if;
        if (select coalesce(max(exclusion_id), 0) from billing.event_exclusions) <> exclusion_seen then
            raise exception 'an event was excluded (or re-included) since the drafts of {{ label }} were built: run the close again';
        end if;
        select count(*) into blocker_count from {{ blockers }};
        if blocker_count > 0 then
            raise exception 'the close of {{ label }} has % blockers (billing.close_blockers): nothing issued', blocker_count;
        end if;
        if exists (select 1 from {{ drafts }} where seq > 999999) then
            raise exception 'the close of {{ label }} needs invoice number % of the period, but INV-{{ yyyymm }}-NNNNNN has six digits (999,999 at most): nothing issued; widen the number format before closing {{ label }}',
                (select max(seq) from {{ drafts }});
        end if;
    end
    $issue_guard$;

    -- One snapshot of the drafts, their lines and the events they bill: every later
    -- statement reads these, never the models again.
    create temporary table issue_plan on commit drop as
    select
        drafts.*,
        coalesce(drafts.replaces_invoice_number, '') as replaces_key
    from {{ drafts }} as drafts;

    create temporary table issue_lines on commit drop as
    select
        lines.*,
        coalesce(lines.replaces_invoice_number, '') as replaces_key
    from {{ draft_lines }} as lines;

    -- The event -> line map was built with the drafts (invoice_draft_events); it is issued
    -- as built, never computed again here. It holds to the drafts when it was built from the
    -- same state as the usage the draft lines were aggregated from
    -- (int_draft_usage_quantities), that state is still the database's (the guard above:
    -- issues, voids, exclusions; here: nothing priced since, by the priced_at index), and
    -- every usage line still has that usage's quantity, events and price. A few rows per
    -- tenant are compared, not the events.
    do $issue_consistency$
    declare
        map_state record;
        map_built boolean;
        usage_state record;
        usage_built boolean;
        mismatches bigint;
    begin
        select invoice_period, last_close_id, void_count, last_exclusion_id, priced_through
            into map_state from {{ draft_events }} limit 1;
        map_built := found;
        select invoice_period, last_close_id, void_count, last_exclusion_id, priced_through
            into usage_state from {{ usage_quantities }} limit 1;
        usage_built := found;
        if map_built <> usage_built
            or (map_built and (
                row(map_state.invoice_period, map_state.last_close_id, map_state.void_count,
                    map_state.last_exclusion_id, map_state.priced_through)
                is distinct from
                row(usage_state.invoice_period, usage_state.last_close_id, usage_state.void_count,
                    usage_state.last_exclusion_id, usage_state.priced_through)
                or exists (
                    select 1 from {{ close_status }} as status
                    where row(status.period, status.last_close_id, status.void_count,
                            status.last_exclusion_id)
                        is distinct from
                        row(map_state.invoice_period, map_state.last_close_id,
                            map_state.void_count, map_state.last_exclusion_id)
                )))
        then
            raise exception 'issue of {{ label }}: the event map (invoice_draft_events) and the draft lines were not built together: nothing issued; run the close of {{ label }} again';
        end if;
        if map_built then
            if exists (
                select 1 from {{ charges }} as charges
                where charges.priced_at > map_state.priced_through
            ) then
                raise exception 'issue of {{ label }}: events were priced after the drafts were built, so the draft lines no longer match the priced events they bill: nothing issued; run the close of {{ label }} again';
            end if;
        elsif exists (select 1 from {{ invoiceable }}) then
            raise exception 'issue of {{ label }}: events were priced after the drafts were built, so the draft lines no longer match the priced events they bill: nothing issued; run the close of {{ label }} again';
        end if;
        -- Each usage line: its usage's quantity, events and price (exact), and the only line
        -- of its key (usage_period, rule_id) in its draft, so each event finds one line.
        select count(*) into mismatches
        from (
            select lines.tenant_id
            from (
                select
                    issue_lines.tenant_id,
                    issue_lines.replaces_key,
                    issue_lines.usage_period,
                    issue_lines.rule_id,
                    issue_lines.unit_price,
                    issue_lines.quantity,
                    issue_lines.event_count,
                    count(*) over (
                        partition by
                            issue_lines.tenant_id, issue_lines.replaces_key,
                            issue_lines.usage_period, issue_lines.rule_id
                    ) as lines_of_key
                from issue_lines
                where issue_lines.line_type <> 'subscription'
            ) as lines
            full outer join (
                select
                    usage.tenant_id,
                    coalesce(usage.replaces_invoice_number, '') as replaces_key,
                    usage.usage_period,
                    usage.rule_id,
                    usage.unit_price,
                    usage.quantity,
                    usage.event_count
                from {{ usage_quantities }} as usage
            ) as usage
                on
                    lines.tenant_id = usage.tenant_id
                    and lines.replaces_key = usage.replaces_key
                    and lines.usage_period = usage.usage_period
                    and lines.rule_id = usage.rule_id
            where
                lines.tenant_id is null
                or usage.tenant_id is null
                or lines.lines_of_key > 1
                or lines.event_count <> usage.event_count
                or lines.quantity <> usage.quantity
                or lines.quantity * lines.unit_price <> usage.quantity * usage.unit_price
        ) as inconsistent;
        if mismatches > 0 then
            raise exception 'issue of {{ label }}: % draft lines no longer match the priced events they bill (re-priced since the drafts were built?): nothing issued; run the close of {{ label }} again', mismatches;
        end if;
    end
    $issue_consistency$;

    insert into billing.issued_invoices (
        invoice_number, period, seq, tenant_id, currency, subtotal, total, line_count,
        issued_at, replaces_invoice_number,
        bill_to_name, bill_to_email, bill_to_address, bill_to_country, bill_to_tax_id,
        issuer_name, issuer_address, issuer_vat_id, issuer_email,
        payment_terms_days, due_date, currency_minor_units, tax_statement, tax_reason,
        catalogue_versions
    )
    select
        plan.invoice_number, plan.period, plan.seq, plan.tenant_id, plan.currency,
        plan.subtotal, plan.total, plan.line_count, now(), plan.replaces_invoice_number,
        accounts.account_name, accounts.billing_email, accounts.address, accounts.country,
        accounts.tax_id,
        {{ _sql_text(issuer.name) }}, {{ _sql_text(issuer.address) }},
        {{ _sql_text(issuer.vat_id) }}, {{ _sql_text(issuer.email) }},
        accounts.payment_terms_days,
        cast(now() at time zone 'UTC' as date) + accounts.payment_terms_days,
        currencies.minor_units,
        {{ _sql_text(tax.statement) }}, {{ _sql_text(tax.reason) }},
        jsonb_build_object(
            'pricing_rules', ({{ content_checksum([ref('stg_catalogue__pricing_rules')]) }}),
            'tier_fees', ({{ content_checksum([ref('stg_catalogue__tier_fees')]) }}),
            'operators', ({{ content_checksum([operators]) }}),
            'iso_4217_currencies', ({{ content_checksum([currencies]) }})
        )
    from issue_plan as plan
    -- Inner joins: a draft without its account or currency would lose its invoice, and then
    -- its lines' foreign key refuses the whole issue (the drafts' tests catch it first).
    inner join {{ accounts }} as accounts on plan.tenant_id = accounts.tenant_id
    inner join {{ currencies }} as currencies on plan.currency = currencies.currency
    order by plan.seq;

    insert into billing.issued_invoice_lines (
        invoice_number, line_number, tenant_id, line_type, description, usage_period,
        operator_id, direction, account_tier, rule_id, fee_id, quantity, unit_price, amount,
        service_start, service_end, period_days, operator_name, operator_country
    )
    select
        plan.invoice_number, lines.line_number, lines.tenant_id, lines.line_type,
        lines.description, lines.usage_period, lines.operator_id, lines.direction,
        lines.account_tier, lines.rule_id, lines.fee_id, lines.quantity, lines.unit_price,
        lines.amount, lines.service_start, lines.service_end, lines.period_days,
        operators.display_name, operators.country
    from issue_lines as lines
    inner join issue_plan as plan
        on
            lines.tenant_id = plan.tenant_id
            and lines.replaces_key = plan.replaces_key
    left join {{ operators }} as operators on lines.operator_id = operators.operator_id
    order by plan.invoice_number, lines.line_number;

    -- After their invoices and lines: one check per statement (migration 0020) finds each
    -- event's line of an invoice issued here. The rows appended are counted as they are:
    -- each named a draft and one of its lines (inner joins, one line per key), so as many as
    -- the drafts' events says every event of the drafts was recorded, once (the primary key).
    do $issue_events$
    declare
        recorded bigint;
    begin
        -- The sort below keeps the month's events in memory (about 1.2 GB at 10M events).
        perform set_config('work_mem', '2GB', true);
        insert into billing.issued_invoice_events (event_id, invoice_number, line_number, tenant_id)
        select events.event_id, plan.invoice_number, lines.line_number, events.tenant_id
        from {{ draft_events }} as events
        inner join issue_plan as plan
            on
                events.tenant_id = plan.tenant_id
                and coalesce(events.replaces_invoice_number, '') = plan.replaces_key
        inner join issue_lines as lines
            on
                events.tenant_id = lines.tenant_id
                and coalesce(events.replaces_invoice_number, '') = lines.replaces_key
                and events.usage_period = lines.usage_period
                and events.rule_id = lines.rule_id
                and lines.line_type <> 'subscription'
        -- In key order: the primary key's index is filled page by page, not at random.
        order by events.event_id, plan.invoice_number;
        get diagnostics recorded = row_count;
        if (select coalesce(sum(event_count), 0) from issue_plan) <> recorded then
            raise exception 'issue of {{ label }}: events recorded do not match the drafts; nothing issued';
        end if;
    end
    $issue_events$;

    -- A void of the period that requires a replacement and got no draft: its replacement
    -- came out empty. It is resolved, with the reason, and blocks no later close.
    create temporary table issue_resolutions on commit drop as
    select
        awaiting.invoice_number,
        awaiting.tenant_id,
        'empty_replacement' as resolution,
        format(
            'replacement empty: its %s events are billed on other non-void invoices since the void, and the account has no active day in {{ label }} to bill',
            (
                select count(*)
                from billing.issued_invoice_events as voided_events
                inner join {{ billed }} as billed
                    on voided_events.event_id = billed.event_id
                where voided_events.invoice_number = awaiting.invoice_number
            )
        ) as reason
    from {{ awaiting }} as awaiting
    where
        awaiting.period = '{{ label }}'
        and not exists (
            select 1 from issue_plan as plan
            where plan.replaces_invoice_number = awaiting.invoice_number
        );

    insert into billing.void_resolutions (invoice_number, tenant_id, resolution, reason, resolved_at)
    select invoice_number, tenant_id, resolution, reason, now()
    from issue_resolutions
    order by invoice_number;

    -- With the pricing state the drafts were built from (migration 0024): the mark after
    -- which int_invoiceable_charges checks priced events of closed months against the
    -- issued events again; and what billing verify recomputes the close from (migration
    -- 0026): the rest of the state the drafts were built from, and every catalogue and
    -- reference row they read, exactly (billing.close_inputs).
    with recorded_close as (
        insert into billing.period_closes (
            period, kind, closed_at, invoice_count, event_count, priced_through,
            through_stream_sequence, built_after_close_id, void_count, last_exclusion_id
        )
        select
            '{{ label }}',
            case when status.is_closed then 'replacement' else 'close' end,
            now(),
            (select count(*) from issue_plan),
            (select coalesce(sum(event_count), 0) from issue_plan),
            (select events.priced_through from {{ draft_events }} as events limit 1),
            (select coalesce(max(staged.stream_sequence), 0) from {{ staged }} as staged),
            built.last_close_id,
            built.void_count,
            built.last_exclusion_id
        from (
            select exists (
                select 1 from billing.period_closes
                where period = '{{ label }}' and kind = 'close'
            ) as is_closed
        ) as status
        cross join {{ close_status }} as built
        where
            not status.is_closed
            or exists (select 1 from issue_plan)
            or exists (select 1 from issue_resolutions)
        returning close_id
    ),

    {{ _close_input_rows([
        ('pricing_rules', ref('pricing_rules'), 'rule_id'),
        ('operator_costs', ref('operator_costs'), 'cost_id'),
        ('tier_fees', ref('tier_fees'), 'fee_id'),
        ('operators', ref('operators'), 'operator_id'),
        ('iso_4217_currencies', ref('iso_4217_currencies'), 'currency'),
        ('accounts', source('ref', 'accounts'), 'tenant_id'),
        ('account_tiers', source('ref', 'account_tiers'), 'tenant_id, effective_from'),
    ]) }}

    insert into billing.close_inputs (close_id, input, row_count, content_sha256, rows)
    select
        recorded_close.close_id,
        input_rows.input,
        input_rows.row_count,
        encode(sha256(convert_to(input_rows.rows::text, 'UTF8')), 'hex'),
        input_rows.rows
    from recorded_close
    cross join input_rows
    order by input_rows.input;

    commit;
    {%- endset -%}

    {%- do run_query(issue_sql) -%}
    {{ log('issue_invoices ' ~ label ~ ': committed', info=true) }}
{%- endmacro %}

{#- The CTE input_rows of the issue step: per (name, relation, order), the relation's rows as a
    jsonb array in that order, and their count. -#}
{% macro _close_input_rows(inputs) -%}
    input_rows as (
    {%- for name, relation, order in inputs %}
        select
            '{{ name }}' as input,
            count(*) as row_count,
            coalesce(jsonb_agg(to_jsonb(input_row) order by {{ order }}), '[]'::jsonb) as rows
        from {{ relation }} as input_row
        {%- if not loop.last %}
        union all
        {%- endif %}
    {%- endfor %}
    )
{%- endmacro %}
