{#- No two rows share the same values in `columns` (nulls compare equal), i.e. the
    columns are the model's grain. -#}
{% test revops_unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as duplicate_count
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
