{#- Post-hook of the large per-event models: refresh the planner's statistics right after a
    build, so the models read next in the same run are planned on the real row counts.
    Without it PostgreSQL plans on a never-analyzed table (a few thousand rows assumed): in a
    10M-event close, billing.margins then sorted on disk (36 s, 4 s with statistics). -#}
{% macro refresh_statistics() -%}
    {{ return(adapter.dispatch('refresh_statistics', 'billing')()) }}
{%- endmacro %}

{% macro default__refresh_statistics() -%}
    {#- Engines that gather statistics themselves (or need none) do nothing here. -#}
{%- endmacro %}

{#- Analyzed when never analyzed (a first build) or when the rows written since the last
    analyze, this run's included, are over a tenth of the table (autovacuum's own default,
    autovacuum_analyze_scale_factor): a refresh adding 1% of new events keeps the statistics
    it has, instead of sampling the whole table again (3-5 s of the 1M-event incremental run
    of int_charges_priced, the half of it). pg_stat_xact_user_tables counts this
    transaction's rows, pg_stat_user_tables those of the committed ones. -#}
{% macro postgres__refresh_statistics() -%}
    do $refresh_statistics$
    begin
        if (
            select
                coalesce(committed.last_analyze, committed.last_autoanalyze) is null
                or coalesce(committed.n_mod_since_analyze, 0) + coalesce(pending.n_tup_ins, 0)
                + coalesce(pending.n_tup_upd, 0) + coalesce(pending.n_tup_del, 0)
                > 0.1 * greatest(relation.reltuples, 0)
            from pg_class as relation
            left join pg_stat_user_tables as committed on committed.relid = relation.oid
            left join pg_stat_xact_user_tables as pending on pending.relid = relation.oid
            where relation.oid = '{{ this }}'::regclass
        ) then
            analyze {{ this }};
        end if;
    end
    $refresh_statistics$
{%- endmacro %}

{% macro spark__refresh_statistics() -%}
    analyze table {{ this }} compute statistics
{%- endmacro %}

{#- Post-hook of an incremental model: an index on `columns` of the rows matching
    `condition`, for queries that read a small slice of a large table (e.g. the unpriced
    events among millions of priced ones). Only for incremental models: the index persists with
    the table (a table model's rebuild would clash with the previous table's index name). -#}
{% macro partial_index(suffix, columns, condition) -%}
    {{ return(adapter.dispatch('partial_index', 'billing')(suffix, columns, condition)) }}
{%- endmacro %}

{% macro default__partial_index(suffix, columns, condition) -%}
{%- endmacro %}

{% macro postgres__partial_index(suffix, columns, condition) -%}
    create index if not exists {{ this.identifier }}_{{ suffix }}
        on {{ this }} ({{ columns | join(', ') }}) where {{ condition }}
{%- endmacro %}
