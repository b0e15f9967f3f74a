{#- None of `columns` holds a null: one test (one query, one scan) for every column of a
    model that must always be set, instead of one not_null test per column. Returns a row
    per column that has nulls: column_name and null_count (so a failure names the columns
    and how many rows each). Columns whose null check needs its own `where` or severity
    keep a not_null test of their own. -#}
{% test revops_not_null_columns(model, columns) %}

with

counted as (

    select
        {%- for column in columns %}
        sum(case when {{ adapter.quote(column) }} is null then 1 else 0 end) as nulls_{{ loop.index }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}

)

{% for column in columns %}
select
    cast('{{ column }}' as {{ type_varchar() }}) as column_name,
    cast(nulls_{{ loop.index }} as {{ dbt.type_bigint() }}) as null_count
from counted
where nulls_{{ loop.index }} > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}
