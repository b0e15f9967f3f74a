-- One row per deal: its current CRM state next to its state on as_of_date (stage,
-- amount, close date, open or not), its owner's team, and its risk score when it is
-- open on as_of_date. Deals created after as_of_date keep their current state and
-- are not open on as_of_date.

with

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

deals_as_of as (

    select * from {{ ref('int_deals_as_of') }}

),

reps as (

    select * from {{ ref('dim_reps') }}

),

risk as (

    select * from {{ ref('deal_risk') }}

),

final as (

    select
        opportunities.opportunity_id,
        opportunities.opportunity_name,
        opportunities.account_id,
        opportunities.owner_id,
        reps.team,
        opportunities.opportunity_type,
        opportunities.lead_source,
        opportunities.created_at,
        opportunities.created_date,
        opportunities.stage_name as current_stage_name,
        opportunities.amount as current_amount,
        opportunities.close_date as current_close_date,
        opportunities.forecast_category as current_forecast_category,
        opportunities.is_closed,
        opportunities.is_won,
        opportunities.next_step,
        opportunities.next_step_date,
        {{ as_of_date() }} as as_of_date,
        deals_as_of.stage_name,
        cast(deals_as_of.stage_order as integer) as stage_order,
        deals_as_of.amount,
        deals_as_of.close_date,
        deals_as_of.forecast_category,
        coalesce(deals_as_of.is_open, false) as is_open,
        deals_as_of.has_next_step,
        cast(deals_as_of.days_in_stage as integer) as days_in_stage,
        cast(deals_as_of.close_date_push_count as integer) as close_date_push_count,
        risk.risk_score,
        risk.risk_level
    from opportunities
    left join deals_as_of
        on opportunities.opportunity_id = deals_as_of.opportunity_id
    left join reps
        on opportunities.owner_id = reps.owner_id
    left join risk
        on opportunities.opportunity_id = risk.opportunity_id

)

select * from final
