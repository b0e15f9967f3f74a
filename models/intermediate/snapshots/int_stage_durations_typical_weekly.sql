-- The typical stage duration as it stood on each week's last day (Sunday, or
-- as_of_date for the current week): per stage, the median of (exit date - entry date)
-- over the stage intervals that ended in (day - typical_duration_window_days, day].
-- On as_of_date this is int_stage_durations_typical's median. Rows exist only where
-- intervals ended in the window; elsewhere the stage map's expected days apply.
-- Intervals are first counted per (stage, exit date, length), so the window join and
-- the median run over those counts rather than over every interval.

with

stages as (

    select * from {{ ref('int_opportunity_stages_sequenced') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

interval_lengths as (

    select
        stage_name,
        exited_date,
        {{ days_between('entered_date', 'exited_date') }} as interval_days,
        count(*) as interval_count
    from stages
    where exited_date is not null
    group by 1, 2, 3

),

week_end_days as (

    select calendar_date as measured_date
    from calendar
    where
        calendar_date <= {{ as_of_date() }}
        and (
            iso_day_of_week = 7
            or calendar_date = {{ as_of_date() }}
        )
        and calendar_date >= (select min(interval_lengths.exited_date) from interval_lengths)

),

in_window as (

    select
        week_end_days.measured_date,
        interval_lengths.stage_name,
        interval_lengths.interval_days,
        sum(interval_lengths.interval_count) as interval_count
    from week_end_days
    inner join interval_lengths
        on interval_lengths.exited_date <= week_end_days.measured_date
            and interval_lengths.exited_date > {{ dbt.dateadd(
            'day', -var('typical_duration_window_days'), 'week_end_days.measured_date'
        ) }}
    group by 1, 2, 3

),

cumulated as (

    select
        measured_date,
        stage_name,
        interval_days,
        sum(interval_count) over (
            partition by measured_date, stage_name
            order by interval_days
            rows between unbounded preceding and current row
        ) as cumulative_count,
        sum(interval_count) over (partition by measured_date, stage_name) as total_count
    from in_window

),

middle_values as (

    -- the median is the mean of the values at positions floor((n + 1) / 2) and
    -- floor(n / 2) + 1 of the sorted lengths (the same position when n is odd)
    select
        measured_date,
        stage_name,
        total_count,
        min(
            case when cumulative_count >= floor((total_count + 1) / 2.0) then interval_days end
        ) as lower_middle_days,
        min(
            case when cumulative_count >= floor(total_count / 2.0) + 1 then interval_days end
        ) as upper_middle_days
    from cumulated
    group by 1, 2, 3

),

final as (

    select
        measured_date,
        stage_name,
        cast(total_count as integer) as measured_interval_count,
        cast((lower_middle_days + upper_middle_days) / 2.0 as {{ type_double() }}) as median_interval_days
    from middle_values

)

select * from final
