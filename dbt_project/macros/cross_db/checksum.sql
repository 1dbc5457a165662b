{#- A checksum of the content of relations: any change of a row changes it. The per-event
    pricing model stores it with each row, so a catalogue or reference change reprices the
    open events in full and new events alone cost in proportion to their number. -#}
{% macro content_checksum(relations) -%}
    {{ return(adapter.dispatch('content_checksum', 'billing')(relations)) }}
{%- endmacro %}

{% macro default__content_checksum(relations) -%}
    select md5(concat_ws('|'
    {%- for relation in relations %},
        (select coalesce(md5(concat_ws(',', sort_array(collect_list(md5(to_json(struct(*))))))), '')
         from {{ relation }})
    {%- endfor %}
    )) as checksum
{%- endmacro %}

{% macro postgres__content_checksum(relations) -%}
    select md5(concat_ws('|'
    {%- for relation in relations %},
        (select coalesce(md5(string_agg(md5(cast(t as text)), ',' order by md5(cast(t as text)))), '')
         from {{ relation }} as t)
    {%- endfor %}
    )) as checksum
{%- endmacro %}
