-- pipeline_hygiene and its weekly trend roll up: the owner rows of a team add up to the
-- team row, and the team rows to the company row, for every count and the amount
-- (the amount within a relative 1e-6, as sums of doubles depend on their order).
-- Returns the rows whose parts do not add up.

{% set measures = [
    'open_deal_count', 'open_amount', 'close_date_past_count', 'stalled_count',
    'inactive_count', 'next_step_count', 'no_next_step_count', 'floating_count'
] %}

with

daily as (

    select
        as_of_date as period_date,
        rollup_level,
        team,
        {{ measures | join(', ') }}
    from {{ ref('pipeline_hygiene') }}

),

weekly as (

    select
        week_start as period_date,
        rollup_level,
        team,
        {{ measures | join(', ') }}
    from {{ ref('pipeline_hygiene_weekly') }}

),

{% for source_name in ['daily', 'weekly'] %}

    {{ source_name }}_checked as (

        select
            '{{ source_name }}' as rollup_source,
            parent.period_date,
            parent.rollup_level,
            parent.team
        from {{ source_name }} as parent
        -- the parts are summed per source_name inside the loop: a CTE each would double it
        left join ( -- noqa: ST05
            select
                period_date,
                'team' as rollup_level,
                team,
                {% for measure in measures %}
                    sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
                {% endfor %}
            from {{ source_name }}
            where rollup_level = 'owner'
            group by period_date, team
            union all
            select
                period_date,
                'company' as rollup_level,
                cast(null as {{ dbt.type_string() }}) as team,
                {% for measure in measures %}
                    sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
                {% endfor %}
            from {{ source_name }}
            where rollup_level = 'team'
            group by period_date
        ) as parts
            on parent.period_date = parts.period_date
                and parent.rollup_level = parts.rollup_level
                and (parent.team = parts.team or (parent.team is null and parts.team is null))
        where
            parent.rollup_level in ('team', 'company')
            and (
                {% for measure in measures %}
                    abs(coalesce(parent.{{ measure }}, 0) - coalesce(parts.{{ measure }}, 0))
                    > 0.000001 * greatest(1, abs(coalesce(parent.{{ measure }}, 0)))
                    {% if not loop.last %}or{% endif %}
                {% endfor %}
            )

    ){% if not loop.last %},{% endif %}

{% endfor %}

select * from daily_checked
union all
select * from weekly_checked
