{#- The date the marts describe: var('as_of_date') (YYYY-MM-DD), else the UTC date the
    run started. Every "today" in the models goes through this macro. -#}
{% macro as_of_date_string() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(run_started_at.strftime('%Y-%m-%d')) }}
    {%- else -%}
        {{ return(value | string | trim) }}
    {%- endif -%}
{%- endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_date_string() }}' as date)
{%- endmacro %}
