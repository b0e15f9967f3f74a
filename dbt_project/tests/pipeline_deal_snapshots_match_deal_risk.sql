-- On deal_risk's as_of_date, fct_deal_snapshots holds exactly the deals deal_risk holds
-- (the deals open that day), in the same stage, amount, close date and days in stage.
-- Compared on the date deal_risk describes, so a partial build cannot mismatch dates.
-- Returns the deals that differ.

with

risk as (

    select * from {{ ref('deal_risk') }}

),

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}

),

risk_day as (

    select distinct as_of_date from risk

),

day_snapshots as (

    select snapshots.*
    from snapshots
    inner join risk_day
        on snapshots.snapshot_date = risk_day.as_of_date

)

select
    coalesce(risk.opportunity_id, day_snapshots.opportunity_id) as opportunity_id,
    risk.opportunity_id is null as is_missing_in_deal_risk,
    day_snapshots.opportunity_id is null as is_missing_in_snapshots
from risk
full outer join day_snapshots
    on risk.opportunity_id = day_snapshots.opportunity_id
where
    risk.opportunity_id is null
    or day_snapshots.opportunity_id is null
    or risk.owner_id <> day_snapshots.owner_id
    or risk.stage_name <> day_snapshots.stage_name
    or coalesce(risk.amount, -1) <> coalesce(day_snapshots.amount, -1)
    or coalesce(risk.close_date, cast('1900-01-01' as date))
    <> coalesce(day_snapshots.close_date, cast('1900-01-01' as date))
    or risk.days_in_stage <> day_snapshots.days_in_stage
