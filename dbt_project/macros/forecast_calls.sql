{#- The call of a past day from the bucket rows of int_deal_forecast_buckets_daily, one
    way for forecast_trend (every day of the current periods) and forecast_accuracy (the
    first day of each closed period). -#}

{#- One row per <dimensions> x owner_id of `relation` (bucket rows of
    int_deal_forecast_buckets_daily, joined to the days to read): the bucket amounts
    summed - closed_won_amount, committed_amount, best_case_amount, slipped_amount - then
    `measures`, {alias: aggregate expression}, in the order given. -#}
{% macro forecast_bucket_sums(relation, dimensions, measures={}) -%}
    select
        {%- for dimension in dimensions %}
        {{ dimension }},
        {%- endfor %}
        owner_id,
        sum(closed_won_amount) as closed_won_amount,
        sum(committed_amount) as committed_amount,
        sum(best_case_amount) as best_case_amount,
        sum(slipped_amount) as slipped_amount
        {%- for alias, aggregate in measures.items() %},
        {{ aggregate }} as {{ alias }}
        {%- endfor %}
    from {{ relation }}
    group by {{ (dimensions + ['owner_id']) | join(', ') }}
{%- endmacro %}

{#- The call (DESIGN.md "Forecast buckets"): closed won + committed + best case (face
    value) x best_case_weight, from three SQL expressions. -#}
{% macro forecast_call_amount(closed_won_amount, committed_amount, best_case_amount) -%}
    {{ closed_won_amount }} + {{ committed_amount }} + {{ best_case_amount }} * {{ var('best_case_weight') }}
{%- endmacro %}
