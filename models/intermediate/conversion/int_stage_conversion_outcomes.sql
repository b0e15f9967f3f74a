-- One row per deal x open stage it was ever in, for every deal closed on as_of_date
-- (its stage that day is closed, close_date on or before it): the population of
-- int_deal_stage_outcomes without the window's lower bound, so the rates as of any past
-- day (int_stage_conversions_daily) take the deals with close_date in that day's window.
-- Outcomes "known as of a day" come from today's data (DECISIONS.md): a deal counts for
-- day x when its close_date <= x and its stage on as_of_date is closed.

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

{{ stage_conversion_outcomes_ctes(window_days=none) }},

final as (

    select
        opportunity_id,
        stage_name,
        stage_order,
        is_won,
        close_date,
        is_icp,
        lead_source
    from stage_outcomes

)

select * from final
