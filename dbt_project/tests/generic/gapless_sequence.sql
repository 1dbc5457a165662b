{#- Within each `group_by` group, `sequence_column` runs 1..n with no gap and no repeat. -#}
{% test gapless_sequence(model, sequence_column, group_by) %}

with

groups as (

    select
        {{ group_by | join(', ') }},
        count(*) as row_count,
        count(distinct {{ sequence_column }}) as distinct_count,
        min({{ sequence_column }}) as first_value,
        max({{ sequence_column }}) as last_value
    from {{ model }}
    group by {{ group_by | join(', ') }}

)

select *
from groups
where not (
    first_value = 1 and last_value = row_count and distinct_count = row_count
)

{% endtest %}
