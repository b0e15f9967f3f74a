-- The waterfall's periods and windows (DESIGN.md "Pipeline waterfall"): the current
-- month and quarter of as_of_date, each seen over two windows ending on d1 = as_of_date -
-- last_7_days (d0 = as_of_date - 7) and period_to_date (d0 = the day before the period
-- started). One row per period x window.

with

periods as (

    select
        period_type as period,
        period_start,
        period_end
    from {{ ref('int_forecast_periods') }}
    where
        period_offset = 'current'
        and period_type in ('month', 'quarter')

),

windows as (

    select
        period,
        period_start,
        period_end,
        'last_7_days' as window_name,
        cast({{ dbt.dateadd('day', -7, as_of_date()) }} as date) as window_start_date
    from periods
    union all
    select
        period,
        period_start,
        period_end,
        'period_to_date',
        cast({{ dbt.dateadd('day', -1, 'period_start') }} as date)
    from periods

),

final as (

    select
        period,
        period_start,
        period_end,
        window_name,
        window_start_date,
        {{ as_of_date() }} as window_end_date
    from windows

)

select * from final
