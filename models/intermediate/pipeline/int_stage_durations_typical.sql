-- One row per stage of the stage map: the typical time in it, the median of
-- (exit date - entry date) in days over its intervals that ended in
-- (as_of_date - window, as_of_date]; the stage map's expected days when none did.

with

stages as (

    select * from {{ ref('int_opportunity_stages_sequenced') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

recent_exits as (

    select
        stage_name,
        {{ days_between('entered_date', 'exited_date') }} as interval_days
    from stages
    where
        exited_date > {{ dbt.dateadd('day', -var('typical_duration_window_days'), as_of_date()) }}
        and exited_date <= {{ as_of_date() }}

),

measured as (

    select
        stage_name,
        count(*) as measured_interval_count,
        {{ median('interval_days') }} as median_interval_days
    from recent_exits
    group by stage_name

),

final as (

    select
        stage_map.stage_name,
        stage_map.expected_days_in_stage,
        coalesce(measured.measured_interval_count, 0) as measured_interval_count,
        measured.median_interval_days,
        cast(
            coalesce(measured.median_interval_days, stage_map.expected_days_in_stage)
            as {{ type_double() }}
        ) as typical_stage_days,
        measured.median_interval_days is null as is_default_typical
    from stage_map
    left join measured
        on stage_map.stage_name = measured.stage_name

)

select * from final
