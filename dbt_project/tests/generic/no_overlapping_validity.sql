{#- Catalogue versions of the same key must not overlap: for rows with equal `key_columns`,
    the validity ranges [from_column, to_column) (to empty = open) must be disjoint.
    Fails with both rows of every overlapping pair. -#}
{% test no_overlapping_validity(model, key_columns, id_column, from_column='effective_from', to_column='effective_to') %}

with

versions as (

    select * from {{ model }}

),

overlapping_versions as (

    select
        earlier.{{ id_column }} as earlier_id,
        later.{{ id_column }} as later_id
    from versions as earlier
    inner join versions as later
        on
            {% for column in key_columns -%}
            earlier.{{ column }} = later.{{ column }} and
            {% endfor -%}
            earlier.{{ id_column }} <> later.{{ id_column }}
            and earlier.{{ from_column }} <= later.{{ from_column }}
            and (
                earlier.{{ to_column }} is null
                or later.{{ from_column }} < earlier.{{ to_column }}
            )

)

select * from overlapping_versions

{% endtest %}
