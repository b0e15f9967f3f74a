-- One row per deal open on as_of_date: the calibrated conversion probability of its
-- stage (segment 'all' of int_stage_conversions_calibrated; the stage map's default
-- when the stage has no row) and, for a non-ICP deal, that probability multiplied by
-- the non-ICP / ICP win-rate factor of int_icp_win_rates, capped at 1. ICP deals keep
-- factor 1. weighted_amount = amount x adjusted probability: the forecast's weighted
-- pipeline.

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

stage_rates as (

    select * from {{ ref('int_stage_conversions_calibrated') }}

),

icp_win_rates as (

    select * from {{ ref('int_icp_win_rates') }}

),

open_deals as (

    select *
    from deals
    where is_open

),

probabilities as (

    select
        open_deals.opportunity_id,
        open_deals.owner_id,
        open_deals.stage_name,
        open_deals.close_date,
        open_deals.amount,
        case when tracking.icp_tracked_criteria_count > 0 then coalesce(icp.is_icp, false) end as is_icp,
        cast(open_deals.default_probability as {{ type_double() }}) as default_probability,
        coalesce(
            stage_rates.calibrated_probability,
            cast(open_deals.default_probability as {{ type_double() }})
        ) as calibrated_probability,
        case
            -- no ICP criterion tracked: no ICP adjustment
            when tracking.icp_tracked_criteria_count = 0 then 1.0
            when coalesce(icp.is_icp, false) then 1.0
            else coalesce(icp_win_rates.non_icp_adjustment_factor, 1.0)
        end as icp_adjustment_factor
    from open_deals
    left join icp
        on open_deals.opportunity_id = icp.opportunity_id
    left join stage_rates
        on
            open_deals.stage_name = stage_rates.stage_name
            and stage_rates.segment = 'all'
    cross join icp_win_rates
    cross join tracking

),

adjusted as (

    select
        *,
        case
            when calibrated_probability * icp_adjustment_factor > 1.0 then 1.0
            else calibrated_probability * icp_adjustment_factor
        end as adjusted_probability
    from probabilities

),

final as (

    select
        opportunity_id,
        owner_id,
        stage_name,
        close_date,
        is_icp,
        default_probability,
        calibrated_probability,
        cast(icp_adjustment_factor as {{ type_double() }}) as icp_adjustment_factor,
        cast(adjusted_probability as {{ type_double() }}) as adjusted_probability,
        amount,
        amount * adjusted_probability as weighted_amount
    from adjusted

)

select * from final
