-- What did we say each day? The call and the weighted pipeline of the current month and
-- quarter as they stood on each day of the period so far (DESIGN.md "Forecast trend"),
-- per owner, team and company, against the period's target. From
-- int_deal_forecast_buckets_daily: the call = closed won + committed + best case x
-- best_case_weight as of that day; weighted pipeline = Σ amount x today's ICP-adjusted
-- calibrated probability of the stage the deal had that day, over the open deals that
-- are not slipped (DECISIONS.md "Forecast trend"). Days before the first snapshot have
-- no pipeline to read and are left out; without opportunity history the past days are
-- unknown (NULL, unknown_reason).

with

daily_buckets as (

    select * from {{ ref('int_deal_forecast_buckets_daily') }}

),

periods as (

    select * from {{ ref('int_forecast_periods') }}

),

owner_targets as (

    select * from {{ ref('int_owner_targets') }}

),

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}

),

first_capture as (

    select * from {{ ref('int_next_step_first_capture') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

stage_rates as (

    select * from {{ ref('int_stage_conversions_calibrated') }}

),

icp as (

    select * from {{ ref('int_opportunities_icp_evaluated') }}

),

icp_win_rates as (

    select * from {{ ref('int_icp_win_rates') }}

),

-- today's probability of each stage (int_deal_probabilities' rule: segment 'all', the
-- stage map's default without a rate), applied to the stage a deal had on a past day
stage_probabilities as (

    select
        stage_map.stage_name,
        coalesce(
            stage_rates.calibrated_probability,
            cast(stage_map.default_probability as {{ type_double() }})
        ) as calibrated_probability
    from stage_map
    left join stage_rates
        on stage_map.stage_name = stage_rates.stage_name
            and stage_rates.segment = 'all'

),

bounds as (

    select min(snapshot_date) as first_snapshot_date
    from snapshots

),

current_periods as (

    select
        period_type,
        period_start,
        period_end
    from periods
    where period_offset = 'current' and period_type in ('month', 'quarter')

),

period_days as (

    select
        current_periods.period_type,
        current_periods.period_start,
        current_periods.period_end,
        calendar.calendar_date as snapshot_date
    from current_periods
    cross join bounds
    inner join calendar
        on calendar.calendar_date >= current_periods.period_start
            and calendar.calendar_date <= {{ as_of_date() }}
            and calendar.calendar_date >= bounds.first_snapshot_date

),

period_rows as (

    -- the buckets of the period's days, each open deal weighted by today's probability
    -- of its stage that day, x the non-ICP factor for a deal that is not ICP (capped at 1)
    select
        period_days.period_type,
        period_days.period_start,
        period_days.snapshot_date,
        daily_buckets.owner_id,
        daily_buckets.bucket,
        daily_buckets.amount,
        daily_buckets.closed_won_amount,
        daily_buckets.committed_amount,
        daily_buckets.best_case_amount,
        daily_buckets.slipped_amount,
        coalesce(stage_probabilities.calibrated_probability, 0)
        * case
            when tracking.icp_tracked_criteria_count = 0 then 1.0
            when coalesce(icp.is_icp, false) then 1.0
            else coalesce(icp_win_rates.non_icp_adjustment_factor, 1.0)
        end as unclamped_probability
    from period_days
    inner join daily_buckets
        on daily_buckets.snapshot_date = period_days.snapshot_date
            and daily_buckets.period_type = period_days.period_type
            and daily_buckets.period_start = period_days.period_start
    left join stage_probabilities
        on daily_buckets.stage_name = stage_probabilities.stage_name
    left join icp
        on daily_buckets.opportunity_id = icp.opportunity_id
    cross join icp_win_rates
    cross join tracking

),

weighted_rows as (

    select
        *,
        case
            when bucket not in ('committed', 'best_case', 'pipeline') then 0
            when unclamped_probability > 1.0 then amount
            else amount * unclamped_probability
        end as weighted_pipeline_amount
    from period_rows

),

day_owner_buckets as (

    {{ forecast_bucket_sums(
        'weighted_rows',
        dimensions=['period_type', 'period_start', 'snapshot_date'],
        measures={
            'weighted_pipeline_amount': 'sum(weighted_pipeline_amount)',
            'open_pipeline_amount':
                "sum(case when bucket in ('committed', 'best_case', 'pipeline') then amount else 0 end)",
        },
    ) }}

),

period_owners as (

    -- every owner with a target or a deal in the period now, or a deal in it on a past day
    select period_type, period_start, owner_id
    from owner_targets
    where period_offset = 'current' and period_type in ('month', 'quarter')
    union
    select period_type, period_start, owner_id from day_owner_buckets

),

owner_days as (

    select
        period_days.period_type,
        period_days.period_start,
        period_days.period_end,
        period_days.snapshot_date,
        period_owners.owner_id,
        coalesce(owner_targets.team, users.team, 'Unassigned') as team,
        case
            when tracking.is_quota_tracked then coalesce(owner_targets.target_amount, 0)
        end as target_amount,
        coalesce(day_owner_buckets.closed_won_amount, 0) as closed_won_amount,
        coalesce(day_owner_buckets.committed_amount, 0) as committed_amount,
        coalesce(day_owner_buckets.best_case_amount, 0) as best_case_amount,
        coalesce(day_owner_buckets.slipped_amount, 0) as slipped_amount,
        coalesce(day_owner_buckets.open_pipeline_amount, 0) as open_pipeline_amount,
        coalesce(day_owner_buckets.weighted_pipeline_amount, 0) as weighted_pipeline_amount
    from period_days
    inner join period_owners
        on period_days.period_type = period_owners.period_type
            and period_days.period_start = period_owners.period_start
    left join owner_targets
        on period_owners.period_type = owner_targets.period_type
            and period_owners.period_start = owner_targets.period_start
            and period_owners.owner_id = owner_targets.owner_id
    left join users
        on period_owners.owner_id = users.user_id
    left join day_owner_buckets
        on period_days.period_type = day_owner_buckets.period_type
            and period_days.period_start = day_owner_buckets.period_start
            and period_days.snapshot_date = day_owner_buckets.snapshot_date
            and period_owners.owner_id = day_owner_buckets.owner_id
    cross join tracking

),

rolled_up as (

    {{ owner_team_company_rollup(
        'owner_days',
        dimensions=['period_type', 'period_start', 'period_end', 'snapshot_date'],
        measures=[
            'target_amount',
            'closed_won_amount',
            'committed_amount',
            'best_case_amount',
            'slipped_amount',
            'open_pipeline_amount',
            'weighted_pipeline_amount',
        ],
    ) }}

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(rolled_up.period_type as {{ type_varchar() }}) as period_type,
        rolled_up.period_start,
        rolled_up.period_end,
        rolled_up.snapshot_date,
        cast(rolled_up.rollup_level as {{ type_varchar() }}) as rollup_level,
        cast(rolled_up.owner_id as {{ type_varchar() }}) as owner_id,
        cast(rolled_up.team as {{ type_varchar() }}) as team,
        cast(
            case
                when first_capture.first_captured_date is not null
                    and rolled_up.snapshot_date >= first_capture.first_captured_date
                    then 'captured_next_steps'
                else 'forecast_category_history'
            end
            as {{ type_varchar() }}
        ) as forecast_basis,
        cast(rolled_up.target_amount as {{ type_double() }}) as target_amount,
        cast(rolled_up.closed_won_amount as {{ type_double() }}) as closed_won_amount,
        cast(case when tracking.is_history_tracked then rolled_up.committed_amount end as {{ type_double() }})
            as committed_amount,
        cast(case when tracking.is_history_tracked then rolled_up.best_case_amount end as {{ type_double() }})
            as best_case_amount,
        cast(
            case when tracking.is_history_tracked then rolled_up.best_case_amount * {{ var('best_case_weight') }} end
            as {{ type_double() }}
        ) as best_case_weighted_amount,
        cast(case when tracking.is_history_tracked then rolled_up.slipped_amount end as {{ type_double() }})
            as slipped_amount,
        cast(case when tracking.is_history_tracked then rolled_up.open_pipeline_amount end as {{ type_double() }})
            as open_pipeline_amount,
        cast(
            case
                when tracking.is_history_tracked
                    then {{ forecast_call_amount(
                        'rolled_up.closed_won_amount', 'rolled_up.committed_amount', 'rolled_up.best_case_amount'
                    ) }}
            end
            as {{ type_double() }}
        ) as call_amount,
        cast(
            case when tracking.is_history_tracked then rolled_up.weighted_pipeline_amount end
            as {{ type_double() }}
        ) as weighted_pipeline_amount,
        cast(
            case when not tracking.is_history_tracked then 'opportunity history not tracked in the CRM' end
            as {{ type_varchar() }}
        ) as unknown_reason
    from rolled_up
    cross join first_capture
    cross join tracking

)

select * from final
