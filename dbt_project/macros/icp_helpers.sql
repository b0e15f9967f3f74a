{#- Helpers of the ICP and conversion models (models/intermediate/icp, .../conversion). -#}

{#- The label of the band `expr` falls in: the last band (list var of {label, min},
    mins ascending) whose min it reaches; 'unknown' when null or below the first min. -#}
{% macro icp_band_label(expr, bands) -%}
    case
        {%- for band in bands | reverse %}
        when {{ expr }} >= {{ band['min'] }} then '{{ dbt.escape_single_quotes(band['label']) }}'
        {%- endfor %}
        else 'unknown'
    end
{%- endmacro %}

{#- The band's position (1 = the first band of the var), null when 'unknown'. -#}
{% macro icp_band_order(expr, bands) -%}
    case
        {%- for band in bands | reverse %}
        when {{ expr }} >= {{ band['min'] }} then {{ bands | length - loop.index0 }}
        {%- endfor %}
    end
{%- endmacro %}

{#- True when a text is null, empty or only whitespace (spaces, tabs, line breaks). -#}
{% macro icp_is_blank(expr) -%}
    {{ return(adapter.dispatch('icp_is_blank', 'revops_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__icp_is_blank(expr) -%}
    coalesce(
        trim(replace(replace(replace({{ expr }}, chr(9), ' '), chr(10), ' '), chr(13), ' ')) = '',
        true
    )
{%- endmacro %}

{#- BigQuery has no chr(); its trim() already strips all whitespace. -#}
{% macro bigquery__icp_is_blank(expr) -%}
    coalesce(trim({{ expr }}) = '', true)
{%- endmacro %}
