-- One row per period x deal that counts toward it: won deals closed in the period up to
-- as_of_date, and open deals with a close date in the period, each placed in its
-- forecast bucket (DESIGN.md "Forecast buckets"). Slipped: open deals whose close date
-- is in the period but before as_of_date; their date is stale, so they are in no bucket,
-- not in the open or weighted pipeline, and only reported as slipped.

with

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

probabilities as (

    select * from {{ ref('int_deal_probabilities') }}

),

periods as (

    select * from {{ ref('int_forecast_periods') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

deal_periods as (

    select
        periods.period_type,
        periods.period_offset,
        periods.period_start,
        periods.period_end,
        deals.opportunity_id,
        deals.owner_id,
        coalesce(deals.amount, 0) as amount,
        deals.close_date,
        deals.is_open,
        deals.has_next_step,
        deals.next_step_date,
        deals.forecast_category,
        tracking.is_next_step_tracked and tracking.is_next_step_date_tracked as is_next_step_date_tracked,
        coalesce(deals.is_won_stage, false) and deals.close_date <= {{ as_of_date() }}
            as is_closed_won,
        coalesce(probabilities.adjusted_probability, 0) as adjusted_probability
    from deals
    inner join periods
        on deals.close_date >= periods.period_start
            and deals.close_date <= periods.period_end
    left join probabilities
        on deals.opportunity_id = probabilities.opportunity_id
    cross join tracking
    where
        deals.is_open
        or (coalesce(deals.is_won_stage, false) and deals.close_date <= {{ as_of_date() }})

),

bucketed as (

    select
        *,
        is_open and close_date < {{ as_of_date() }} as is_slipped,
        -- without next-step dates, the CRM's forecast category decides (Commit -> committed)
        case
            when is_next_step_date_tracked
                then is_open
                and close_date >= {{ as_of_date() }}
                and has_next_step
                and next_step_date <= {{ dbt.dateadd('day', var('committed_next_step_days'), as_of_date()) }}
            else is_open
                and close_date >= {{ as_of_date() }}
                and coalesce(forecast_category = 'Commit', false)
        end as is_committed,
        case
            when is_next_step_date_tracked then 'next_step'
            else 'forecast_category'
        end as committed_basis
    from deal_periods

),

classified as (

    select
        *,
        is_open and not is_slipped and not is_committed as is_best_case
    from bucketed

),

final as (

    select
        period_type,
        period_offset,
        period_start,
        period_end,
        opportunity_id,
        owner_id,
        is_closed_won,
        is_open,
        is_committed,
        committed_basis,
        is_slipped,
        is_best_case,
        case when is_closed_won then amount else 0 end as closed_won_amount,
        case when is_committed then amount else 0 end as committed_amount,
        case when is_best_case then amount else 0 end as best_case_amount,
        case when is_best_case then amount * {{ var('best_case_weight') }} else 0 end as best_case_weighted_amount,
        case when is_slipped then amount else 0 end as slipped_amount,
        -- the open pipeline and its weighted value leave slipped deals out
        case when is_open and not is_slipped then amount else 0 end as open_amount,
        case
            when is_open and not is_slipped then amount * adjusted_probability else 0
        end as weighted_pipeline_amount
    from classified

)

select * from final
