-- The periods the forecast and run-rate marts describe, relative to as_of_date: the
-- current and next month and quarter (forecast), and the current year (run rate YTD).

with

anchors as (

    select
        cast({{ dbt.date_trunc('month', as_of_date()) }} as date) as month_start,
        cast({{ dbt.date_trunc('quarter', as_of_date()) }} as date) as quarter_start,
        cast({{ dbt.date_trunc('year', as_of_date()) }} as date) as year_start

),

periods as (

    select
        'month' as period_type,
        'current' as period_offset,
        month_start as period_start,
        1 as sort_order
    from anchors
    union all
    select 'month', 'next', cast({{ dbt.dateadd('month', 1, 'month_start') }} as date), 2
    from anchors
    union all
    select 'quarter', 'current', quarter_start, 3
    from anchors
    union all
    select 'quarter', 'next', cast({{ dbt.dateadd('month', 3, 'quarter_start') }} as date), 4
    from anchors
    union all
    select 'year', 'current', year_start, 5
    from anchors

),

final as (

    select
        period_type,
        period_offset,
        period_start,
        cast(
            {{ dbt.dateadd(
                'day', -1,
                dbt.dateadd(
                    'month',
                    "case period_type when 'month' then 1 when 'quarter' then 3 else 12 end",
                    'period_start'
                )
            ) }}
            as date
        ) as period_end,
        sort_order
    from periods

)

select * from final
