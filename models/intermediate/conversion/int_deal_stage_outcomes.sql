-- One row per deal x open stage it was ever in, for the deals closed in the conversion
-- window: their stage on as_of_date is a closed stage and their close_date is in
-- (as_of_date - conversion_window_days, as_of_date]. "Ever in" = any history row
-- created on or before as_of_date in that stage, or the deal's stage on as_of_date
-- (which is how a deal without history counts). A deal that passed through a stage
-- twice counts once for it. Each row carries the deal's outcome and its segments.
-- The same population as int_stage_conversion_outcomes (every closed deal, for the
-- rates as of every day): both are the macro stage_conversion_outcomes_ctes.

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

{{ stage_conversion_outcomes_ctes(window_days=var('conversion_window_days')) }},

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
