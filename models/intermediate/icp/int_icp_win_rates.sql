-- One row: the win rates of ICP and non-ICP deals closed in
-- (as_of_date - icp_win_rate_window_days, as_of_date] (closed = their stage on
-- as_of_date is a closed stage), by count, and the factor a non-ICP deal's probability
-- is multiplied by: non-ICP win rate / ICP win rate. No adjustment (factor 1) when
-- either rate is undefined (no closed deals) or the ICP win rate is 0.

with

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

icp as (

    select * from {{ ref('int_opportunities_icp_evaluated') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

closed_in_window as (

    select
        deals.opportunity_id,
        coalesce(deals.is_won_stage, false) as is_won,
        case when tracking.icp_tracked_criteria_count > 0 then coalesce(icp.is_icp, false) end as is_icp
    from deals
    left join icp
        on deals.opportunity_id = icp.opportunity_id
    cross join tracking
    where
        coalesce(deals.is_closed_stage, false)
        and deals.close_date > cast(
            {{ dbt.dateadd('day', -1 * var('icp_win_rate_window_days'), as_of_date()) }} as date
        )
        and deals.close_date <= {{ as_of_date() }}

),

counted as (

    select
        coalesce(sum(case when is_icp then 1 else 0 end), 0) as icp_closed_count,
        coalesce(sum(case when is_icp and is_won then 1 else 0 end), 0) as icp_won_count,
        coalesce(sum(case when not is_icp then 1 else 0 end), 0) as non_icp_closed_count,
        coalesce(sum(case when not is_icp and is_won then 1 else 0 end), 0) as non_icp_won_count
    from closed_in_window

),

rated as (

    select
        icp_closed_count,
        icp_won_count,
        non_icp_closed_count,
        non_icp_won_count,
        case
            when icp_closed_count > 0
                then cast(icp_won_count as {{ type_double() }}) / icp_closed_count
        end as icp_win_rate,
        case
            when non_icp_closed_count > 0
                then cast(non_icp_won_count as {{ type_double() }}) / non_icp_closed_count
        end as non_icp_win_rate
    from counted

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast({{ dbt.dateadd('day', -1 * var('icp_win_rate_window_days'), as_of_date()) }} as date)
            as window_start_date,
        cast(icp_closed_count as integer) as icp_closed_count,
        cast(icp_won_count as integer) as icp_won_count,
        icp_win_rate,
        cast(non_icp_closed_count as integer) as non_icp_closed_count,
        cast(non_icp_won_count as integer) as non_icp_won_count,
        non_icp_win_rate,
        case
            when icp_win_rate > 0 and non_icp_win_rate is not null
                then non_icp_win_rate / icp_win_rate
            else 1.0
        end as non_icp_adjustment_factor,
        coalesce(icp_win_rate > 0 and non_icp_win_rate is not null, false) as is_adjusted
    from rated

)

select * from final
