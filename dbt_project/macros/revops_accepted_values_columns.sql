{#- Each column of `values_by_column` ({column: [values]}) takes only its listed values
    (nulls are not_null's business): one test per model instead of one accepted_values
    test per column. Strings are compared as quoted literals, numbers and booleans as they
    are. Returns a row per column and unexpected value: column_name, unexpected_value and
    row_count. -#}
{% test revops_accepted_values_columns(model, values_by_column) %}

{% for column, values in values_by_column.items() %}
{%- set value = adapter.quote(column) %}
select
    cast('{{ column }}' as {{ type_varchar() }}) as column_name,
    cast({{ value }} as {{ type_varchar() }}) as unexpected_value,
    cast(count(*) as {{ dbt.type_bigint() }}) as row_count
from {{ model }}
where
    {{ value }} is not null
    and {{ value }} not in (
        {%- for accepted in values -%}
            {%- if accepted is string -%}
                '{{ dbt.escape_single_quotes(accepted) }}'
            {%- else -%}
                {{ accepted }}
            {%- endif -%}
            {{- ', ' if not loop.last }}
        {%- endfor -%}
    )
group by {{ value }}
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}
