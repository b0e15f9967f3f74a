{#- Every non-null value of each of `columns` lies in [min_value, max_value] (either bound
    may be left out: "not negative" is min_value 0). One test (one query, one scan) per
    model and range instead of one per column; bounds may be vars
    ("{{ var('risk_stage_time_weight') }}"), so the test follows the model's settings.
    Returns a row per column with values out of range: column_name, out_of_range_count,
    lowest_value and highest_value. -#}
{% test revops_columns_between(model, columns, min_value=none, max_value=none) %}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error("revops_columns_between on " ~ model ~ ": give min_value, max_value or both") }}
{%- endif %}

with

counted as (

    select
        {%- for column in columns %}
        {%- set value = adapter.quote(column) %}
        sum(
            case
                when
                    {%- if min_value is not none %} {{ value }} < {{ min_value }}{% endif %}
                    {%- if min_value is not none and max_value is not none %} or{% endif %}
                    {%- if max_value is not none %} {{ value }} > {{ max_value }}{% endif %}
                    then 1
                else 0
            end
        ) as outside_{{ loop.index }},
        min(cast({{ value }} as {{ type_double() }})) as lowest_{{ loop.index }},
        max(cast({{ value }} as {{ type_double() }})) as highest_{{ loop.index }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}

)

{% for column in columns %}
select
    cast('{{ column }}' as {{ type_varchar() }}) as column_name,
    cast(outside_{{ loop.index }} as {{ dbt.type_bigint() }}) as out_of_range_count,
    lowest_{{ loop.index }} as lowest_value,
    highest_{{ loop.index }} as highest_value
from counted
where outside_{{ loop.index }} > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}
