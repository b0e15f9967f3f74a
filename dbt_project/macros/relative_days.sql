{#- Days relative to as_of_date in words, one wording for every mart (daily_action_list's
    reasons, deal_risk's main_reason). `days` is a SQL expression of whole days >= 0,
    usually days_between(...). -#}

{#- Ahead of as_of_date: 'today', 'tomorrow', 'in 5 days'. -#}
{% macro days_ahead_in_words(days) -%}
    case
        when {{ days }} = 0 then 'today'
        when {{ days }} = 1 then 'tomorrow'
        else 'in ' || cast({{ days }} as {{ dbt.type_string() }}) || ' days'
    end
{%- endmacro %}

{#- Before as_of_date: 'today', 'yesterday', '3 days ago'. -#}
{% macro days_ago_in_words(days) -%}
    case
        when {{ days }} = 0 then 'today'
        when {{ days }} = 1 then 'yesterday'
        else cast({{ days }} as {{ dbt.type_string() }}) || ' days ago'
    end
{%- endmacro %}

{#- Past a due date: '1 day overdue', '22 days overdue'. -#}
{% macro days_overdue_in_words(days) -%}
    case
        when {{ days }} = 1 then '1 day overdue'
        else cast({{ days }} as {{ dbt.type_string() }}) || ' days overdue'
    end
{%- endmacro %}
