{#- A per-row invariant of a model, as a boolean SQL expression over its columns (portable
    SQL: DuckDB, PostgreSQL, Spark). Returns the rows where it is false; a row where it is
    NULL (an unknown input) is not a failure. Give the test a `description` saying what a
    failing row is. -#}
{% test revops_expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
