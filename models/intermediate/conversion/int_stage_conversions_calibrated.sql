-- One row per open stage of the stage map x segment: 'all', 'icp', 'non_icp' (even
-- with no deals, so the prior shows; never when no ICP criterion is tracked) and 'lead_source:<source>' for every lead
-- source among the deals known on as_of_date ('unknown' when blank). n = the deals
-- ever in the stage that closed in the conversion window (int_deal_stage_outcomes);
-- raw rate = won / n (null when n = 0); calibrated = (won + k x default) / (n + k),
-- k = var calibration_k, default = the stage map's default_probability, so a stage with
-- little history keeps close to its default and one with much history follows it.

{%- set k = var('calibration_k') %}

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

open_stages as (

    select
        stage_name,
        stage_order,
        default_probability
    from stage_map
    where not is_closed

),

lead_sources as (

    select distinct coalesce(nullif(trim(lead_source), ''), 'unknown') as lead_source
    from deals

),

segments as (

    select 'all' as segment, 'all' as segment_type
    union all
    -- no icp / non_icp rows when the CRM tracks no ICP criterion (is_icp unknown)
    select 'icp' as segment, 'icp' as segment_type
    from tracking
    where icp_tracked_criteria_count > 0
    union all
    select 'non_icp' as segment, 'icp' as segment_type
    from tracking
    where icp_tracked_criteria_count > 0
    union all
    select
        {{ dbt.concat(["'lead_source:'", "lead_source"]) }} as segment,
        'lead_source' as segment_type
    from lead_sources

),

outcome_segments as (

    select stage_name, opportunity_id, is_won, 'all' as segment
    from outcomes
    union all
    select
        stage_name,
        opportunity_id,
        is_won,
        case when is_icp then 'icp' else 'non_icp' end as segment
    from outcomes
    where is_icp is not null
    union all
    select
        stage_name,
        opportunity_id,
        is_won,
        {{ dbt.concat(["'lead_source:'", "lead_source"]) }} as segment
    from outcomes

),

counted as (

    select
        stage_name,
        segment,
        count(*) as deal_count,
        sum(case when is_won then 1 else 0 end) as won_count
    from outcome_segments
    group by stage_name, segment

),

grid as (

    select
        open_stages.stage_name,
        open_stages.stage_order,
        open_stages.default_probability,
        segments.segment,
        segments.segment_type,
        cast(coalesce(counted.deal_count, 0) as integer) as deal_count,
        cast(coalesce(counted.won_count, 0) as integer) as won_count
    from open_stages
    cross join segments
    left join counted
        on
            open_stages.stage_name = counted.stage_name
            and segments.segment = counted.segment

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        stage_name,
        stage_order,
        segment,
        segment_type,
        deal_count,
        won_count,
        deal_count - won_count as lost_count,
        case
            when deal_count > 0 then cast(won_count as {{ type_double() }}) / deal_count
        end as raw_rate,
        cast(default_probability as {{ type_double() }}) as default_probability,
        case
            when deal_count + {{ k }} > 0
                then (won_count + {{ k }} * cast(default_probability as {{ type_double() }}))
                / (deal_count + {{ k }})
            else cast(default_probability as {{ type_double() }})
        end as calibrated_probability
    from grid

)

select * from final
