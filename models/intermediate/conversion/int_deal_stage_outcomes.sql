-- One row per deal x open stage it was ever in, for the deals closed in the conversion
-- window: their stage on as_of_date is a closed stage and their close_date is in
-- (as_of_date - conversion_window_days, as_of_date]. "Ever in" = any history row
-- created on or before as_of_date in that stage, or the deal's stage on as_of_date
-- (which is how a deal without history counts). A deal that passed through a stage
-- twice counts once for it. Each row carries the deal's outcome and its segments.

with

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

history as (

    select * from {{ ref('int_opportunity_history_as_of') }}

),

icp as (

    select * from {{ ref('int_opportunities_icp_evaluated') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

closed_in_window as (

    select
        opportunity_id,
        coalesce(is_won_stage, false) as is_won,
        close_date,
        lead_source
    from deals
    where
        coalesce(is_closed_stage, false)
        and close_date > cast({{ dbt.dateadd('day', -1 * var('conversion_window_days'), as_of_date()) }} as date)
        and close_date <= {{ as_of_date() }}

),

stages_ever_in as (

    select opportunity_id, stage_name from history
    union
    select opportunity_id, stage_name from deals

),

final as (

    select
        closed_in_window.opportunity_id,
        stages_ever_in.stage_name,
        stage_map.stage_order,
        closed_in_window.is_won,
        closed_in_window.close_date,
        -- unknown when the CRM tracks no ICP criterion: no icp / non_icp segments then
        case when tracking.icp_tracked_criteria_count > 0 then coalesce(icp.is_icp, false) end as is_icp,
        coalesce(nullif(trim(closed_in_window.lead_source), ''), 'unknown') as lead_source
    from closed_in_window
    inner join stages_ever_in
        on closed_in_window.opportunity_id = stages_ever_in.opportunity_id
    inner join stage_map
        on stages_ever_in.stage_name = stage_map.stage_name
    left join icp
        on closed_in_window.opportunity_id = icp.opportunity_id
    cross join tracking
    where not stage_map.is_closed

)

select * from final
