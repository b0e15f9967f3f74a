-- The calibrated call's rates (DESIGN.md "Calibrated call"): what each bucket turned
-- into on the team's own history. One row per use x period type x period the rates are
-- for:
--   * use 'forecast': the current and next month and quarter (forecast.sql), at the
--     same point in the period as as_of_date: day offset o = as_of_date - the current
--     period's start (negative for the next period), learned from the periods that
--     ended before the current period started;
--   * use 'backtest': every closed period since the first snapshot (forecast_backtest),
--     as of its first day (o = 0), learned only from the periods that ended before it.
-- History: the closed periods p of the same type that started within
-- calibrated_call_lookback_months before that date; the buckets of day
-- p.start + o (clamped to p's last day) from int_deal_forecast_buckets_daily; won =
-- the amount of those deals won with close_date within p. rate = Σ won ÷ Σ bucket amount
-- over the history (pooled, amount-weighted); a bucket with fewer than
-- calibrated_call_min_deals deals in its history uses the rules' weight (1 for
-- committed, best_case_weight for best case). Company-wide: one set of rates for every
-- owner and team (DECISIONS.md "Calibrated call").

with

daily_buckets as (

    select * from {{ ref('int_deal_forecast_buckets_daily') }}

),

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}

),

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

forecast_periods as (

    select * from {{ ref('int_forecast_periods') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

bounds as (

    select min(snapshot_date) as first_snapshot_date
    from snapshots

),

period_types as (

    select 'month' as period_type, 1 as period_months
    union all
    select 'quarter', 3

),

-- every month and quarter with a day in [first snapshot, as_of_date]; those that ended
-- before as_of_date are closed (history), those of them that started on or after the
-- first snapshot are backtested (forecast_accuracy's closed periods)
period_starts as (

    select distinct
        period_types.period_type,
        period_types.period_months,
        cast(
            case period_types.period_type
                when 'month' then {{ dbt.date_trunc('month', 'calendar.calendar_date') }}
                else {{ dbt.date_trunc('quarter', 'calendar.calendar_date') }}
            end
            as date
        ) as period_start
    from calendar
    cross join period_types
    cross join bounds
    where
        calendar.calendar_date >= bounds.first_snapshot_date
        and calendar.calendar_date <= {{ as_of_date() }}

),

closed_periods as (

    select
        period_starts.period_type,
        period_starts.period_start,
        cast(
            {{ dbt.dateadd(
                'day', -1, dbt.dateadd('month', 'period_starts.period_months', 'period_starts.period_start')
            ) }}
            as date
        ) as period_end
    from period_starts

),

current_starts as (

    select
        period_type,
        period_start as current_period_start
    from forecast_periods
    where period_offset = 'current' and period_type in ('month', 'quarter')

),

targets as (

    select
        'forecast' as rate_use,
        forecast_periods.period_type,
        forecast_periods.period_offset,
        forecast_periods.period_start,
        forecast_periods.period_end,
        current_starts.current_period_start as learned_before_date,
        {{ days_between('forecast_periods.period_start', as_of_date()) }} as day_offset
    from forecast_periods
    inner join current_starts
        on forecast_periods.period_type = current_starts.period_type
    union all
    select
        'backtest' as rate_use,
        closed_periods.period_type,
        'closed' as period_offset,
        closed_periods.period_start,
        closed_periods.period_end,
        closed_periods.period_start as learned_before_date,
        0 as day_offset
    from closed_periods
    cross join bounds
    where
        closed_periods.period_end < {{ as_of_date() }}
        and closed_periods.period_start >= bounds.first_snapshot_date

),

target_history as (

    -- the history periods of each target and the day of each to read the buckets on
    select
        targets.rate_use,
        targets.period_type,
        targets.period_start as target_period_start,
        targets.day_offset,
        history.period_start as history_period_start,
        history.period_end as history_period_end,
        case
            when {{ dbt.dateadd('day', 'targets.day_offset', 'history.period_start') }} > history.period_end
                then history.period_end
            else cast({{ dbt.dateadd('day', 'targets.day_offset', 'history.period_start') }} as date)
        end as history_day
    from targets
    inner join closed_periods as history
        on targets.period_type = history.period_type
            and history.period_end < targets.learned_before_date
            and history.period_end < {{ as_of_date() }}
            and history.period_start >= cast(
                {{ dbt.dateadd('month', -1 * var('calibrated_call_lookback_months'), 'targets.learned_before_date') }}
                as date
            )

),

history_days as (

    -- the distinct (period, day) pairs to read: several targets share them
    select distinct
        period_type,
        history_period_start,
        history_period_end,
        history_day
    from target_history

),

won_deals as (

    select
        opportunity_id,
        coalesce(amount, 0) as won_amount,
        close_date
    from deals
    where is_won_stage

),

history_buckets as (

    select
        history_days.period_type,
        history_days.history_period_start,
        history_days.history_day,
        daily_buckets.bucket,
        daily_buckets.forecast_basis,
        daily_buckets.amount,
        coalesce(won_deals.won_amount, 0) as won_amount
    from history_days
    cross join bounds
    inner join daily_buckets
        on daily_buckets.snapshot_date = history_days.history_day
            and daily_buckets.period_type = history_days.period_type
            and daily_buckets.period_start = history_days.history_period_start
            and daily_buckets.bucket in ('committed', 'best_case')
    left join won_deals
        on daily_buckets.opportunity_id = won_deals.opportunity_id
            and won_deals.close_date >= history_days.history_period_start
            and won_deals.close_date <= history_days.history_period_end
    where history_days.history_day >= bounds.first_snapshot_date

),

history_day_totals as (

    select
        period_type,
        history_period_start,
        history_day,
        sum(case when bucket = 'committed' then 1 else 0 end) as committed_deal_count,
        sum(case when bucket = 'committed' then amount else 0 end) as committed_amount,
        sum(case when bucket = 'committed' then won_amount else 0 end) as committed_won_amount,
        sum(case when bucket = 'best_case' then 1 else 0 end) as best_case_deal_count,
        sum(case when bucket = 'best_case' then amount else 0 end) as best_case_amount,
        sum(case when bucket = 'best_case' then won_amount else 0 end) as best_case_won_amount,
        min(forecast_basis) as min_basis,
        max(forecast_basis) as max_basis
    from history_buckets
    group by 1, 2, 3

),

learned as (

    select
        target_history.rate_use,
        target_history.period_type,
        target_history.target_period_start,
        count(history_day_totals.history_day) as history_period_count,
        coalesce(sum(history_day_totals.committed_deal_count), 0) as committed_deal_count,
        coalesce(sum(history_day_totals.committed_amount), 0) as committed_history_amount,
        coalesce(sum(history_day_totals.committed_won_amount), 0) as committed_won_amount,
        coalesce(sum(history_day_totals.best_case_deal_count), 0) as best_case_deal_count,
        coalesce(sum(history_day_totals.best_case_amount), 0) as best_case_history_amount,
        coalesce(sum(history_day_totals.best_case_won_amount), 0) as best_case_won_amount,
        min(history_day_totals.min_basis) as min_basis,
        max(history_day_totals.max_basis) as max_basis
    from target_history
    left join history_day_totals
        on target_history.period_type = history_day_totals.period_type
            and target_history.history_period_start = history_day_totals.history_period_start
            and target_history.history_day = history_day_totals.history_day
    group by 1, 2, 3

),

rated as (

    select
        targets.rate_use,
        targets.period_type,
        targets.period_offset,
        targets.period_start,
        targets.period_end,
        targets.learned_before_date,
        targets.day_offset,
        coalesce(learned.history_period_count, 0) as history_period_count,
        case
            when learned.min_basis is null then null
            when learned.min_basis = learned.max_basis then learned.min_basis
            else 'mixed'
        end as history_forecast_basis,
        coalesce(learned.committed_deal_count, 0) as committed_deal_count,
        coalesce(learned.committed_history_amount, 0) as committed_history_amount,
        coalesce(learned.committed_won_amount, 0) as committed_won_amount,
        coalesce(learned.best_case_deal_count, 0) as best_case_deal_count,
        coalesce(learned.best_case_history_amount, 0) as best_case_history_amount,
        coalesce(learned.best_case_won_amount, 0) as best_case_won_amount,
        -- without opportunity history the buckets of past days are unknown, and so are
        -- the rates (and the calibrated call)
        tracking.is_history_tracked
    from targets
    cross join tracking
    left join learned
        on targets.rate_use = learned.rate_use
            and targets.period_type = learned.period_type
            and targets.period_start = learned.target_period_start

),

with_rates as (

    select
        *,
        case
            when committed_history_amount > 0 then committed_won_amount / committed_history_amount
        end as committed_observed_rate,
        case
            when best_case_history_amount > 0 then best_case_won_amount / best_case_history_amount
        end as best_case_observed_rate,
        committed_deal_count >= {{ var('calibrated_call_min_deals') }}
        and committed_history_amount > 0 as is_committed_learned,
        best_case_deal_count >= {{ var('calibrated_call_min_deals') }}
        and best_case_history_amount > 0 as is_best_case_learned
    from rated

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(rate_use as {{ type_varchar() }}) as rate_use,
        cast(period_type as {{ type_varchar() }}) as period_type,
        cast(period_offset as {{ type_varchar() }}) as period_offset,
        period_start,
        period_end,
        learned_before_date,
        cast(day_offset as integer) as day_offset,
        cast(history_period_count as integer) as history_period_count,
        cast(history_forecast_basis as {{ type_varchar() }}) as history_forecast_basis,
        cast(committed_deal_count as integer) as committed_deal_count,
        cast(committed_history_amount as {{ type_double() }}) as committed_history_amount,
        cast(committed_won_amount as {{ type_double() }}) as committed_won_amount,
        cast(committed_observed_rate as {{ type_double() }}) as committed_observed_rate,
        cast(
            case
                when not is_history_tracked then null
                when is_committed_learned then committed_observed_rate
                else 1.0
            end
            as {{ type_double() }}
        ) as committed_rate,
        cast(
            case
                when not is_history_tracked then 'unknown'
                when is_committed_learned then 'history'
                else 'rules_weight'
            end
            as {{ type_varchar() }}
        ) as committed_rate_basis,
        cast(best_case_deal_count as integer) as best_case_deal_count,
        cast(best_case_history_amount as {{ type_double() }}) as best_case_history_amount,
        cast(best_case_won_amount as {{ type_double() }}) as best_case_won_amount,
        cast(best_case_observed_rate as {{ type_double() }}) as best_case_observed_rate,
        cast(
            case
                when not is_history_tracked then null
                when is_best_case_learned then best_case_observed_rate
                else {{ var('best_case_weight') }}
            end
            as {{ type_double() }}
        ) as best_case_rate,
        cast(
            case
                when not is_history_tracked then 'unknown'
                when is_best_case_learned then 'history'
                else 'rules_weight'
            end
            as {{ type_varchar() }}
        ) as best_case_rate_basis
    from with_rates

)

select * from final
