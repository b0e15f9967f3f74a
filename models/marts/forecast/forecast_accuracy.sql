-- How good were our calls? For each closed month and quarter, per owner and for the
-- company: the forecast as of the period's first day (closed won + committed + best
-- case weighted, from the buckets of that day: int_deal_forecast_buckets_daily) against
-- closed won at its end.
-- Before the project first captured next steps, the buckets come from the forecast
-- category the CRM recorded (Commit -> committed, Best Case -> best case, Pipeline ->
-- neither); from the first captured day on, from the committed / best-case rules
-- (never, when the CRM tracks no next-step date: forecast_basis says which).

with

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}

),

daily_buckets as (

    select * from {{ ref('int_deal_forecast_buckets_daily') }}

),

first_capture as (

    select * from {{ ref('int_next_step_first_capture') }}

),

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

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

-- the bucket rows of each period's first day (int_deal_forecast_buckets_daily: on that
-- day no deal of the period is slipped): closed won on it (the win recorded by then),
-- committed and best case
opening_rows as (

    select daily_buckets.*
    from closed_periods
    inner join daily_buckets
        on daily_buckets.snapshot_date = closed_periods.period_start
            and daily_buckets.period_type = closed_periods.period_type
            and daily_buckets.period_start = closed_periods.period_start
            and daily_buckets.bucket in ('closed_won', 'committed', 'best_case', 'pipeline')

),

opening_buckets as (

    {{ forecast_bucket_sums('opening_rows', dimensions=['period_type', 'period_start']) }}

),

won_deals as (

    select
        opportunity_id,
        owner_id,
        coalesce(amount, 0) as amount,
        close_date
    from deals
    where is_won_stage

),

outcomes as (

    -- closed won at the period's end: the won deals closed in it
    select
        closed_periods.period_type,
        closed_periods.period_start,
        won_deals.owner_id,
        sum(won_deals.amount) as actual_amount
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
        coalesce(opening_buckets.closed_won_amount, 0) as closed_won_at_start_amount,
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
        {{ forecast_call_amount(
            'unioned.closed_won_at_start_amount', 'unioned.committed_amount', 'unioned.best_case_amount'
        ) }} as forecast_amount,
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
