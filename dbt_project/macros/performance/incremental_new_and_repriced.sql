{#- Incremental strategy 'new_and_repriced' of int_charges_priced (issue 19): the run's rows
    are events landed since the last run (stream_sequence above the table's highest) and
    events priced again (voided, or every unbilled one after a catalogue change). Only the
    latter can already be in the table, so only they are deleted before the insert.
    delete+insert looked every new row up in the table too: in a production close, 10M new
    events of the month probed against the 10M of each earlier month. A new event is never in
    the table: staging keeps an event_id's first landing only (is_duplicate), and the unique
    index on event_id refuses the insert if that ever failed. -#}
{% macro get_incremental_new_and_repriced_sql(arg_dict) -%}
    {{ return(adapter.dispatch('incremental_new_and_repriced', 'billing')(arg_dict)) }}
{%- endmacro %}

{% macro default__incremental_new_and_repriced(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {#- A literal: the range of the source rows that may be in the table. -#}
    {%- set through = run_query(
        "select coalesce(max(stream_sequence), 0) from " ~ target
    ).rows[0][0] -%}

    delete from {{ target }}
    where event_id in (
        select repriced.event_id
        from {{ source }} as repriced
        where repriced.stream_sequence <= {{ through }}
    );

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ source }}
{%- endmacro %}
