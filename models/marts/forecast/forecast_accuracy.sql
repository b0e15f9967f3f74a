-- How good were our calls? For each closed month and quarter, per owner and for the
-- company: the forecast as of the period's first day (closed won + committed + best
-- case weighted, from the deal snapshots of that day) against closed won at its end.
-- Before the project first captured next steps, the buckets come from the forecast
-- category the CRM recorded (Commit -> committed, Best Case -> best case, Pipeline ->
-- neither); from the first captured day on, from the committed / best-case rules
-- (never, when the CRM tracks no next-step date: forecast_basis says which).

with

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}

),

opportunity_states as (

    select * from {{ ref('opportunity_state_snapshot') }}

),

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

won_history as (

    select * from {{ ref('int_opportunity_history_as_of') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

captured_next_steps as (

    select
        opportunity_id,
        next_step,
        next_step_date,
        cast(dbt_valid_from as date) as valid_from_date,
        cast(dbt_valid_to as date) as valid_to_date
    from opportunity_states

),

first_capture as (

    -- a CRM without next steps or their dates never has the rules' basis: every period
    -- uses the forecast category history
    select
        min(
            case
                when tracking.is_next_step_tracked and tracking.is_next_step_date_tracked
                    then captured_next_steps.valid_from_date
            end
        ) as first_captured_date
    from captured_next_steps
    cross join tracking

),

bounds as (

    select
        min(snapshot_date) as first_snapshot_date,
        {{ as_of_date() }} as as_of_date
    from snapshots

),

period_starts as (

    -- every month and quarter that started on or after the first snapshot and ended
    -- before as_of_date
    select distinct
        'month' as period_type,
        cast({{ dbt.date_trunc('month', 'snapshot_date') }} as date) as period_start
    from snapshots
    union
    select distinct
        'quarter' as period_type,
        cast({{ dbt.date_trunc('quarter', 'snapshot_date') }} as date) as period_start
    from snapshots

),

periods as (

    select
        period_starts.period_type,
        period_starts.period_start,
        cast(
            {{ dbt.dateadd(
                'day', -1,
                dbt.dateadd(
                    'month',
                    "case period_starts.period_type when 'month' then 1 else 3 end",
                    'period_starts.period_start'
                )
            ) }}
            as date
        ) as period_end
    from period_starts
    cross join bounds
    where period_starts.period_start >= bounds.first_snapshot_date

),

closed_periods as (

    select periods.*
    from periods
    where periods.period_end < {{ as_of_date() }}

),

-- the open deals of each period's first day that close in the period
opening_pipeline as (

    select
        closed_periods.period_type,
        closed_periods.period_start,
        closed_periods.period_end,
        snapshots.opportunity_id,
        snapshots.owner_id,
        coalesce(snapshots.amount, 0) as amount,
        snapshots.close_date,
        snapshots.forecast_category,
        captured_next_steps.next_step,
        captured_next_steps.next_step_date,
        first_capture.first_captured_date is not null
        and closed_periods.period_start >= first_capture.first_captured_date as is_rules_basis
    from closed_periods
    inner join snapshots
        on snapshots.snapshot_date = closed_periods.period_start
            and snapshots.close_date >= closed_periods.period_start
            and snapshots.close_date <= closed_periods.period_end
    cross join first_capture
    left join captured_next_steps
        on snapshots.opportunity_id = captured_next_steps.opportunity_id
            and closed_periods.period_start >= captured_next_steps.valid_from_date
            and (
                closed_periods.period_start < captured_next_steps.valid_to_date
                or captured_next_steps.valid_to_date is null
            )

),

bucketed as (

    select
        *,
        case
            when is_rules_basis
                then close_date >= period_start
                and {{ has_next_step('next_step', 'next_step_date', 'period_start') }}
                and next_step_date <= {{ dbt.dateadd('day', var('committed_next_step_days'), 'period_start') }}
            else forecast_category = 'Commit'
        end as is_committed,
        case
            when is_rules_basis then true
            else forecast_category = 'Best Case'
        end as is_best_case_candidate
    from opening_pipeline

),

opening_buckets as (

    select
        period_type,
        period_start,
        owner_id,
        max(case when is_rules_basis then 1 else 0 end) as used_rules_basis,
        sum(case when coalesce(is_committed, false) then amount else 0 end) as committed_amount,
        sum(
            case
                when not coalesce(is_committed, false) and coalesce(is_best_case_candidate, false)
                    then amount
                else 0
            end
        ) as best_case_amount
    from bucketed
    group by 1, 2, 3

),

won_deals as (

    select
        deals.opportunity_id,
        deals.owner_id,
        coalesce(deals.amount, 0) as amount,
        deals.close_date,
        min(won_history.created_date) as won_recorded_date
    from deals
    left join won_history
        on deals.opportunity_id = won_history.opportunity_id
            and won_history.stage_name = deals.stage_name
    where deals.is_won_stage
    group by 1, 2, 3, 4

),

outcomes as (

    select
        closed_periods.period_type,
        closed_periods.period_start,
        won_deals.owner_id,
        sum(won_deals.amount) as actual_amount,
        sum(
            case
                when won_deals.close_date <= closed_periods.period_start
                    and coalesce(won_deals.won_recorded_date, won_deals.close_date) <= closed_periods.period_start
                    then won_deals.amount
                else 0
            end
        ) as closed_won_at_start_amount
    from closed_periods
    inner join won_deals
        on won_deals.close_date >= closed_periods.period_start
            and won_deals.close_date <= closed_periods.period_end
    group by 1, 2, 3

),

owner_periods as (

    select period_type, period_start, owner_id from opening_buckets
    union
    select period_type, period_start, owner_id from outcomes

),

owner_rows as (

    select
        owner_periods.period_type,
        owner_periods.period_start,
        closed_periods.period_end,
        'owner' as rollup_level,
        owner_periods.owner_id,
        coalesce(outcomes.closed_won_at_start_amount, 0) as closed_won_at_start_amount,
        coalesce(opening_buckets.committed_amount, 0) as committed_amount,
        coalesce(opening_buckets.best_case_amount, 0) as best_case_amount,
        coalesce(outcomes.actual_amount, 0) as actual_amount
    from owner_periods
    inner join closed_periods
        on owner_periods.period_type = closed_periods.period_type
            and owner_periods.period_start = closed_periods.period_start
    left join opening_buckets
        on owner_periods.period_type = opening_buckets.period_type
            and owner_periods.period_start = opening_buckets.period_start
            and owner_periods.owner_id = opening_buckets.owner_id
    left join outcomes
        on owner_periods.period_type = outcomes.period_type
            and owner_periods.period_start = outcomes.period_start
            and owner_periods.owner_id = outcomes.owner_id

),

company_rows as (

    select
        period_type,
        period_start,
        period_end,
        'company' as rollup_level,
        cast(null as {{ dbt.type_string() }}) as owner_id,
        sum(closed_won_at_start_amount) as closed_won_at_start_amount,
        sum(committed_amount) as committed_amount,
        sum(best_case_amount) as best_case_amount,
        sum(actual_amount) as actual_amount
    from owner_rows
    group by 1, 2, 3, 4, 5

),

unioned as (

    select * from owner_rows
    union all
    select * from company_rows

),

with_basis as (

    select
        unioned.*,
        case
            when first_capture.first_captured_date is not null
                and unioned.period_start >= first_capture.first_captured_date
                then 'captured_next_steps'
            else 'forecast_category_history'
        end as forecast_basis,
        unioned.closed_won_at_start_amount + unioned.committed_amount
        + unioned.best_case_amount * {{ var('best_case_weight') }} as forecast_amount,
        tracking.is_history_tracked
    from unioned
    cross join first_capture
    cross join tracking

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        period_type,
        period_start,
        period_end,
        rollup_level,
        owner_id,
        forecast_basis,
        cast(closed_won_at_start_amount as {{ type_double() }}) as closed_won_at_start_amount,
        cast(committed_amount as {{ type_double() }}) as committed_amount,
        cast(best_case_amount as {{ type_double() }}) as best_case_amount,
        cast(best_case_amount * {{ var('best_case_weight') }} as {{ type_double() }})
            as best_case_weighted_amount,
        -- the pipeline of a past first day needs the history of stage, amount and close date
        cast(case when is_history_tracked then forecast_amount end as {{ type_double() }}) as forecast_amount,
        cast(actual_amount as {{ type_double() }}) as actual_amount,
        cast(
            case
                when is_history_tracked and actual_amount > 0
                    then (forecast_amount - actual_amount) / actual_amount
            end
            as {{ type_double() }}
        ) as variance_rate,
        case
            when is_history_tracked and actual_amount > 0
                then abs((forecast_amount - actual_amount) / actual_amount)
                <= {{ var('forecast_variance_healthy_rate') }}
        end as is_within_healthy_band,
        cast(
            case when not is_history_tracked then 'opportunity history not tracked in the CRM' end
            as {{ type_varchar() }}
        ) as unknown_reason
    from with_basis

)

select * from final
