{#- Fails when the model has any row (e.g. blockers, gaps). -#}
{% test is_empty(model) %}

select *
from {{ model }}

{% endtest %}
