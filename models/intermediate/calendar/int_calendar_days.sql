-- One row per calendar day of the business calendar, with a running count of
-- business days so that "business days in (D, E]" is a subtraction of two indexes.

with

holidays as (

    select * from {{ ref('business_calendar_holidays') }}

),

spine as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('calendar_start_date') ~ "' as date)",
        "cast('" ~ var('calendar_end_date') ~ "' as date)"
    ) }}

),

days as (

    select
        cast(spine.date_day as date) as calendar_date,
        {{ iso_day_of_week('cast(spine.date_day as date)') }} as iso_day_of_week,
        holidays.holiday_name
    from spine
    left join holidays
        on cast(spine.date_day as date) = holidays.holiday_date

),

flagged as (

    select
        calendar_date,
        iso_day_of_week,
        holiday_name,
        holiday_name is not null as is_holiday,
        iso_day_of_week not in ({{ var('weekend_isodows') | join(', ') }})
        and holiday_name is null as is_business_day
    from days

),

final as (

    select
        calendar_date,
        iso_day_of_week,
        holiday_name,
        is_holiday,
        is_business_day,
        sum(case when is_business_day then 1 else 0 end) over (
            order by calendar_date rows between unbounded preceding and current row
        ) as business_day_index
    from flagged

)

select * from final
