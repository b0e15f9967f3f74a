{{
    config(
        materialized=deal_snapshots_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_rebuilt_conversion_days(this, stage_conversions_rebuild_from(this, ref('int_stage_conversion_outcomes'), ref('int_deals_as_of'), ref('int_source_tracking'), ref('stage_map'))) }}",
        post_hook="{{ delete_days_after(this, 'as_of_day', as_of_date()) }}"
    )
}}

{%- set rebuild_from = stage_conversions_rebuild_from(
    this,
    ref('int_stage_conversion_outcomes'),
    ref('int_deals_as_of'),
    ref('int_source_tracking'),
    ref('stage_map')
) %}
{#- every day on a full build: the calendar's first -#}
{%- set first_rebuilt_day = rebuild_from if rebuild_from is not none else var('calendar_start_date') %}

-- DESIGN.md "Stage conversion probability" as of every day: one row per as_of_day x open
-- stage x segment, from the day of the first closed deal to as_of_date, computed as
-- int_stage_conversions_calibrated computes it for as_of_date (the same macros,
-- stage_conversions.sql): n = the deals ever in the stage with close_date in
-- (as_of_day - conversion_window_days, as_of_day], calibrated = (won + k x default) /
-- (n + k). Outcomes known as of a day come from today's data: a deal whose stage on
-- as_of_date is closed counts for the days its close_date falls in the window of
-- (int_stage_conversion_outcomes; DECISIONS.md). The as_of_date rows equal
-- int_stage_conversions_calibrated.
-- Incremental like fct_deal_snapshots (append, pre-hook delete, a table on Spark): a run
-- rebuilds the days from stage_conversions_rebuild_from on (the first day whose closed
-- deals changed, or the day after the last stored one) and keeps the others, which a
-- full refresh would compute the same (every row stores the counts its day's closed deals
-- add, closed_on_day_*, to find the first changed day). The days after as_of_date (left by
-- a run for a later day) are deleted by the post-hook.

with

outcomes as (

    select * from {{ ref('int_stage_conversion_outcomes') }}

),

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

first_close as (

    select min(close_date) as first_close_date
    from outcomes

),

days as (

    select calendar.calendar_date as as_of_day
    from calendar
    cross join first_close
    where
        calendar.calendar_date >= first_close.first_close_date
        and calendar.calendar_date <= {{ as_of_date() }}
        and calendar.calendar_date >= cast('{{ first_rebuilt_day }}' as date)

),

open_stages as (

    {{ stage_conversion_open_stages('stage_map') }}

),

segments as (

    {{ stage_conversion_segments('deals', 'tracking') }}

),

outcome_segments as (

    {{ stage_conversion_outcome_segments('outcomes') }}

),

closed_by_day as (

    -- the deals each close date adds to a stage and segment: a few rows per day, so the
    -- window below adds up counts, not deals
    select
        close_date,
        stage_name,
        segment,
        count(*) as deal_count,
        sum(case when is_won then 1 else 0 end) as won_count
    from outcome_segments
    group by close_date, stage_name, segment

),

counted as (

    select
        days.as_of_day,
        closed_by_day.stage_name,
        closed_by_day.segment,
        sum(closed_by_day.deal_count) as deal_count,
        sum(closed_by_day.won_count) as won_count
    from days
    inner join closed_by_day
        on
            closed_by_day.close_date
            > cast({{ dbt.dateadd('day', -1 * var('conversion_window_days'), 'days.as_of_day') }} as date)
            and closed_by_day.close_date <= days.as_of_day
    group by days.as_of_day, closed_by_day.stage_name, closed_by_day.segment

),

rates as (

    {{ stage_conversion_rates('days', 'open_stages', 'segments', 'counted') }}

),

final as (

    select
        rates.as_of_day,
        cast(rates.stage_name as {{ type_varchar() }}) as stage_name,
        cast(rates.stage_order as integer) as stage_order,
        cast(rates.segment as {{ type_varchar() }}) as segment,
        cast(rates.segment_type as {{ type_varchar() }}) as segment_type,
        rates.deal_count,
        rates.won_count,
        rates.lost_count,
        cast(rates.raw_rate as {{ type_double() }}) as raw_rate,
        rates.default_probability,
        cast(rates.calibrated_probability as {{ type_double() }}) as calibrated_probability,
        cast(coalesce(closed_by_day.deal_count, 0) as integer) as closed_on_day_deal_count,
        cast(coalesce(closed_by_day.won_count, 0) as integer) as closed_on_day_won_count,
        cast({{ var('conversion_window_days') }} as integer) as conversion_window_days,
        cast({{ var('calibration_k') }} as {{ type_double() }}) as calibration_k
    from rates
    left join closed_by_day
        on
            rates.as_of_day = closed_by_day.close_date
            and rates.stage_name = closed_by_day.stage_name
            and rates.segment = closed_by_day.segment

)

select * from final
