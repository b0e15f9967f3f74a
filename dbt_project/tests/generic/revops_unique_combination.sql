{#- No two rows share the same values in `columns` (nulls compare equal), i.e. the
    columns are the model's grain. Column names are quoted (adapter.quote), so a grain
    may hold a reserved word such as pipeline_waterfall's `window`. -#}
{% test revops_unique_combination(model, columns) %}

select
    {% for column in columns %}{{ adapter.quote(column) }}, {% endfor %}
    count(*) as duplicate_count
from {{ model }}
group by {% for column in columns %}{{ adapter.quote(column) }}{{ ', ' if not loop.last }}{% endfor %}
having count(*) > 1

{% endtest %}
