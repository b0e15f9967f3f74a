{#- The date the marts describe, YYYY-MM-DD: var('as_of_date') when given (a unit test's
    override, or `dbt build --vars`), else the environment's REVOPS_AS_OF_DATE (how the
    pipeline passes its run's day), else the UTC date the run started. Every "today" in
    the models goes through this macro.

    The environment is read only when dbt executes (`execute`), never while it parses: a
    value seen at parse time is recorded in the partial-parse state, and a new day would
    make dbt re-parse the whole project every morning (a --vars value that changes does
    the same; that is why the pipeline does not pass the day as a var). -#}
{% macro as_of_date_string() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if (value is none or (value | string | trim) == '') and execute -%}
        {%- set value = env_var('REVOPS_AS_OF_DATE', '') -%}
    {%- endif -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(run_started_at.strftime('%Y-%m-%d')) }}
    {%- else -%}
        {{ return(value | string | trim) }}
    {%- endif -%}
{%- endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_date_string() }}' as date)
{%- endmacro %}
