-- One row per open stage of the stage map x segment: 'all', 'icp', 'non_icp' (even
-- with no deals, so the prior shows; never when no ICP criterion is tracked) and 'lead_source:<source>' for every lead
-- source among the deals known on as_of_date ('unknown' when blank). n = the deals
-- ever in the stage that closed in the conversion window (int_deal_stage_outcomes);
-- raw rate = won / n (null when n = 0); calibrated = (won + k x default) / (n + k),
-- k = var calibration_k, default = the stage map's default_probability, so a stage with
-- little history keeps close to its default and one with much history follows it.
-- The macros of stage_conversions.sql compute it, as they do for every past day in
-- int_stage_conversions_daily (whose as_of_date row equals this model).

with

outcomes as (

    select * from {{ ref('int_deal_stage_outcomes') }}

),

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

days as (

    select {{ as_of_date() }} as as_of_day

),

open_stages as (

    {{ stage_conversion_open_stages('stage_map') }}

),

segments as (

    {{ stage_conversion_segments('deals', 'tracking') }}

),

outcome_segments as (

    {{ stage_conversion_outcome_segments('outcomes') }}

),

counted as (

    -- the outcomes are already those of the window ending on as_of_date
    select
        days.as_of_day,
        outcome_segments.stage_name,
        outcome_segments.segment,
        count(*) as deal_count,
        sum(case when outcome_segments.is_won then 1 else 0 end) as won_count
    from outcome_segments
    cross join days
    group by days.as_of_day, outcome_segments.stage_name, outcome_segments.segment

),

rates as (

    {{ stage_conversion_rates('days', 'open_stages', 'segments', 'counted') }}

),

final as (

    select
        as_of_day as as_of_date,
        stage_name,
        stage_order,
        segment,
        segment_type,
        deal_count,
        won_count,
        lost_count,
        raw_rate,
        default_probability,
        calibrated_probability
    from rates

)

select * from final
