-- The daily pipeline-hygiene digest, one row per manager and deal that needs attention:
-- open deals without a next step, past their close date, stalled or inactive, each listed
-- under the owner's manager (an owner without a manager gets their own), ranked by amount.
-- The digest alert (revops.alerting) words these rows; BI can list them too.

with

deal_risk as (

    select * from {{ ref('deal_risk') }}

),

reps as (

    select * from {{ ref('dim_reps') }}

),

problem_deals as (

    select
        deal_risk.as_of_date,
        coalesce(owners.manager_id, deal_risk.owner_id) as manager_id,
        deal_risk.opportunity_id,
        deal_risk.opportunity_name,
        deal_risk.owner_id,
        owners.name as owner_name,
        owners.team,
        deal_risk.amount,
        deal_risk.close_date,
        -- an unknown flag (its input not tracked) is not a problem found
        coalesce(not deal_risk.has_next_step, false) as is_missing_next_step,
        coalesce(deal_risk.is_close_date_past, false) as is_close_date_past,
        coalesce(deal_risk.is_stalled, false) as is_stalled,
        coalesce(deal_risk.is_inactive, false) as is_inactive
    from deal_risk
    left join reps as owners
        on deal_risk.owner_id = owners.owner_id

),

final as (

    select
        problem_deals.as_of_date,
        problem_deals.manager_id,
        managers.name as manager_name,
        managers.team as manager_team,
        problem_deals.opportunity_id,
        problem_deals.opportunity_name,
        problem_deals.owner_id,
        problem_deals.owner_name,
        problem_deals.team,
        problem_deals.amount,
        problem_deals.close_date,
        problem_deals.is_missing_next_step,
        problem_deals.is_close_date_past,
        problem_deals.is_stalled,
        problem_deals.is_inactive,
        cast(row_number() over (
            partition by problem_deals.manager_id
            order by coalesce(problem_deals.amount, -1) desc, problem_deals.opportunity_id
        ) as integer) as digest_rank
    from problem_deals
    left join reps as managers
        on problem_deals.manager_id = managers.owner_id
    where
        problem_deals.is_missing_next_step
        or problem_deals.is_close_date_past
        or problem_deals.is_stalled
        or problem_deals.is_inactive

)

select * from final
