-- forecast rolls up: per period, the owner rows and the team rows each add up to the
-- company row for closed won, committed, best case and weighted pipeline (within 0.01, as
-- sums of doubles depend on their order). Returns the periods and levels that do not add up.

{% set measures = ['closed_won_amount', 'committed_amount', 'best_case_amount', 'weighted_pipeline_amount'] %}

with

levels as (

    select
        period_type,
        period_start,
        rollup_level,
        {% for measure in measures %}
            sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from {{ ref('forecast') }}
    group by period_type, period_start, rollup_level

)

select
    parts.period_type,
    parts.period_start,
    parts.rollup_level,
    parts.closed_won_amount,
    company.closed_won_amount as company_closed_won_amount
from levels as parts
inner join levels as company
    on
        parts.period_type = company.period_type
        and parts.period_start = company.period_start
        and company.rollup_level = 'company'
where
    parts.rollup_level in ('owner', 'team')
    and (
        {% for measure in measures %}
            abs(coalesce(parts.{{ measure }}, 0) - coalesce(company.{{ measure }}, 0)) > 0.01
            {% if not loop.last %}or{% endif %}
        {% endfor %}
    )
