-- One row per period x owner of int_owner_targets (every owner with a target or a deal
-- in the period): the period's target and the owner's forecast buckets summed - the
-- owner rows forecast and run_rate both report (DESIGN.md "Forecast buckets").
-- target_amount: no quotas in the CRM, the target is unknown (NULL), not 0; with quotas,
-- an owner without one has a target of 0. Owners without a deal have zero buckets.

with

owner_targets as (

    select * from {{ ref('int_owner_targets') }}

),

buckets as (

    select * from {{ ref('int_deal_forecast_buckets') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

owner_buckets as (

    select
        period_type,
        period_start,
        owner_id,
        sum(closed_won_amount) as closed_won_amount,
        sum(committed_amount) as committed_amount,
        sum(best_case_amount) as best_case_amount,
        sum(best_case_weighted_amount) as best_case_weighted_amount,
        sum(slipped_amount) as slipped_amount,
        sum(case when is_slipped then 1 else 0 end) as slipped_count,
        sum(open_amount) as open_pipeline_amount,
        sum(weighted_pipeline_amount) as weighted_pipeline_amount,
        sum(case when is_open and not is_slipped then 1 else 0 end) as open_deal_count
    from buckets
    group by 1, 2, 3

),

final as (

    select
        owner_targets.period_type,
        owner_targets.period_offset,
        owner_targets.period_start,
        owner_targets.period_end,
        owner_targets.owner_id,
        owner_targets.team,
        case when tracking.is_quota_tracked then coalesce(owner_targets.target_amount, 0) end
            as target_amount,
        coalesce(owner_buckets.closed_won_amount, 0) as closed_won_amount,
        coalesce(owner_buckets.committed_amount, 0) as committed_amount,
        coalesce(owner_buckets.best_case_amount, 0) as best_case_amount,
        coalesce(owner_buckets.best_case_weighted_amount, 0) as best_case_weighted_amount,
        coalesce(owner_buckets.slipped_amount, 0) as slipped_amount,
        coalesce(owner_buckets.slipped_count, 0) as slipped_count,
        coalesce(owner_buckets.open_pipeline_amount, 0) as open_pipeline_amount,
        coalesce(owner_buckets.weighted_pipeline_amount, 0) as weighted_pipeline_amount,
        coalesce(owner_buckets.open_deal_count, 0) as open_deal_count
    from owner_targets
    left join owner_buckets
        on owner_targets.period_type = owner_buckets.period_type
            and owner_targets.period_start = owner_buckets.period_start
            and owner_targets.owner_id = owner_buckets.owner_id
    cross join tracking

)

select * from final
