{#- Engine differences, each behind adapter.dispatch so models stay one copy. -#}

{#- ISO day of week: 1 = Monday ... 7 = Sunday. -#}
{% macro iso_day_of_week(date_expr) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'revops_warehouse')(date_expr)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expr) -%}
    cast(extract(isodow from {{ date_expr }}) as integer)
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expr) -%}
    (((dayofweek({{ date_expr }}) + 5) % 7) + 1)
{%- endmacro %}

{#- Median of an aggregate group. -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'revops_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__median(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro spark__median(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}

{#- A list var rendered as a SQL list of lower-cased string literals: ('a', 'b'). -#}
{% macro sql_string_list(values) -%}
    ({% for value in values %}'{{ value | string | lower | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- Days from start_date to end_date (end - start), for date-typed expressions. -#}
{% macro days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{#- An 8-byte float for money and rates (dbt.type_float() is a 4-byte FLOAT on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'revops_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#- DESIGN.md's "has next step" on a day: next_step not blank, not a vague phrase
    (var vague_next_step_phrases, case-insensitive, whole text) and dated that day or
    later. False, never null. The one definition every model uses. -#}
{% macro has_next_step(next_step, next_step_date, on_date) -%}
    coalesce(
        {{ next_step }} is not null
        and trim({{ next_step }}) <> ''
        and lower(trim({{ next_step }})) not in {{ sql_string_list(var('vague_next_step_phrases')) }}
        and {{ next_step_date }} >= {{ on_date }},
        false
    )
{%- endmacro %}

{#- A list var rendered as a SQL list of string literals, case kept: ('A', 'B'). -#}
{% macro sql_literal_list(values) -%}
    ({% for value in values %}'{{ value | string | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}
