-- One row per deal closed in the ICP discovery window: its stage on as_of_date is a
-- closed stage and its close_date is in (as_of_date - icp_discovery_window_months
-- months, as_of_date]. Each deal carries the bands icp_segments groups by: company
-- size (account employees), industry, deal size (amount on as_of_date) and cycle
-- length (close_date - created date, in days); bands are the vars icp_*_bands.

{%- set size_bands = var('icp_company_size_bands') %}
{%- set deal_bands = var('icp_deal_size_bands') %}
{%- set cycle_bands = var('icp_cycle_length_bands') %}

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
        deals.owner_id,
        deals.amount,
        deals.created_date,
        deals.close_date,
        coalesce(deals.is_won_stage, false) as is_won,
        icp.industry,
        icp.employee_count,
        case when tracking.icp_tracked_criteria_count > 0 then coalesce(icp.is_icp, false) end as is_icp,
        {{ days_between('deals.created_date', 'deals.close_date') }} as cycle_days
    from deals
    left join icp
        on deals.opportunity_id = icp.opportunity_id
    cross join tracking
    where
        coalesce(deals.is_closed_stage, false)
        and deals.close_date > cast(
            {{ dbt.dateadd('month', -1 * var('icp_discovery_window_months'), as_of_date()) }} as date
        )
        and deals.close_date <= {{ as_of_date() }}

),

final as (

    select
        opportunity_id,
        owner_id,
        is_won,
        is_icp,
        amount,
        created_date,
        close_date,
        cast(cycle_days as integer) as cycle_days,
        industry,
        employee_count,
        {{ icp_band_label('employee_count', size_bands) }} as company_size_band,
        {{ icp_band_order('employee_count', size_bands) }} as company_size_band_order,
        coalesce(nullif(trim(industry), ''), 'unknown') as industry_segment,
        {{ icp_band_label('amount', deal_bands) }} as deal_size_band,
        {{ icp_band_order('amount', deal_bands) }} as deal_size_band_order,
        {{ icp_band_label('cycle_days', cycle_bands) }} as cycle_length_band,
        {{ icp_band_order('cycle_days', cycle_bands) }} as cycle_length_band_order
    from closed_in_window

)

select * from final
