{{
    config(
        materialized=changed_rows_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_deal_days(this, changed_deal_days(this, source('salesforce', 'opportunity'), ref('int_next_step_first_capture')), source('salesforce', 'opportunity'), source('salesforce', 'opportunity_history'), ref('int_deals_as_of'), ref('int_opportunity_history_as_of')) }}",
        post_hook="{{ record_changed_rows_state(this, key=changed_deal_days_key(ref('int_next_step_first_capture')), loaded_from=[source('salesforce', 'opportunity'), source('salesforce', 'opportunity_history')]) }}"
    )
}}

-- depends_on: {{ source('salesforce', 'opportunity') }}, {{ source('salesforce', 'opportunity_history') }}
{%- set raw_deals, raw_history = source('salesforce', 'opportunity'), source('salesforce', 'opportunity_history') %}
{%- set deals_as_of, history_as_of = ref('int_deals_as_of'), ref('int_opportunity_history_as_of') %}
{%- set rebuild = changed_deal_days(this, raw_deals, ref('int_next_step_first_capture')) %}
{#- the days every deal is recomputed on: those after this one (on a full build, the day before
    the calendar's first: all) -#}
{%- set rebuilt_after = changed_deal_days_kept_until(rebuild) %}

-- The forecast buckets as they stood on any past day (DESIGN.md "Forecast buckets",
-- "Forecast variance"): one row per snapshot day d x period (the month and the quarter
-- of the deal's close date) x deal that counts toward it that day.
--   * open on d (fct_deal_snapshots) with close_date in the period and >= d: committed,
--     best case or pipeline (neither);
--   * open on d with close_date in the period containing d but before d: slipped (no
--     bucket; reported on its own);
--   * won deals with close_date in [period start, d] whose win was recorded by d:
--     closed won (the same rule as forecast_accuracy: the deal's current state, its win
--     dated by the first history row of its won stage).
-- Basis: before the project first captured next steps (snapshot
-- opportunity_state_snapshot) the forecast category of that day decides (Commit ->
-- committed, Best Case -> best case, anything else -> pipeline); from the first
-- captured day on, the rules (a next step dated within [d, d + committed_next_step_days]
-- -> committed, the rest best case). No probabilities here: a row of a past day stays
-- what it was when today's conversion rates change (forecast_trend applies them).
-- Size: the open snapshot rows x 2 period types, plus won deals x the days left in
-- their period after the win.
-- Incremental (macros/changed_deal_days.sql): a daily run recomputes the days after the
-- last stored day - snapshot_lookback_days for every deal and every day of the deals raw
-- changed since the last build (the deal or a history row: a backdated close date, a late
-- history row, a deletion), and keeps the other rows, which a full rebuild computes the
-- same; a changed model, its key inputs, a reload and --full-refresh rebuild it all. A
-- table on Spark.

with

-- the deals whose every day is recomputed (none on a full build)
changed_deals as (

    {{ changed_deal_ids(rebuild, raw_deals, raw_history, deals_as_of, history_as_of) }}

),

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}
    where
        snapshot_date > {{ rebuilt_after }}
        or opportunity_id in (select changed_deals.opportunity_id from changed_deals)

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

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

period_types as (

    select 'month' as period_type, 1 as period_months
    union all
    select 'quarter', 3

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

    select * from {{ ref('int_next_step_first_capture') }}

),

open_rows as (

    select
        snapshots.snapshot_date,
        period_types.period_type,
        cast(
            case period_types.period_type
                when 'month' then {{ dbt.date_trunc('month', 'snapshots.close_date') }}
                else {{ dbt.date_trunc('quarter', 'snapshots.close_date') }}
            end
            as date
        ) as period_start,
        period_types.period_months,
        snapshots.opportunity_id,
        snapshots.owner_id,
        snapshots.stage_name,
        coalesce(snapshots.amount, 0) as amount,
        snapshots.close_date,
        snapshots.forecast_category,
        first_capture.first_captured_date is not null
        and snapshots.snapshot_date >= first_capture.first_captured_date as is_rules_basis,
        {{ has_next_step('captured.next_step', 'captured.next_step_date', 'snapshots.snapshot_date') }}
        and captured.next_step_date
        <= {{ dbt.dateadd('day', var('committed_next_step_days'), 'snapshots.snapshot_date') }} as is_next_step_due
    from snapshots
    cross join period_types
    cross join first_capture
    left join captured_next_steps as captured
        on snapshots.opportunity_id = captured.opportunity_id
            and snapshots.snapshot_date >= captured.valid_from_date
            and (
                snapshots.snapshot_date < captured.valid_to_date
                or captured.valid_to_date is null
            )
    where snapshots.close_date is not null

),

open_bucketed as (

    select
        snapshot_date,
        period_type,
        period_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 'period_months', 'period_start')) }} as date)
            as period_end,
        opportunity_id,
        owner_id,
        stage_name,
        amount,
        close_date,
        forecast_category,
        is_rules_basis,
        case
            when close_date < snapshot_date then 'slipped'
            when is_rules_basis and is_next_step_due then 'committed'
            when is_rules_basis then 'best_case'
            when forecast_category = 'Commit' then 'committed'
            when forecast_category = 'Best Case' then 'best_case'
            else 'pipeline'
        end as bucket
    from open_rows

),

won_deals as (

    select
        deals.opportunity_id,
        deals.owner_id,
        deals.stage_name,
        coalesce(deals.amount, 0) as amount,
        deals.close_date,
        deals.forecast_category,
        coalesce(min(won_history.created_date), deals.close_date) as won_recorded_date
    from deals
    left join won_history
        on deals.opportunity_id = won_history.opportunity_id
            and won_history.stage_name = deals.stage_name
    where deals.is_won_stage and deals.close_date is not null
    group by 1, 2, 3, 4, 5, 6

),

won_periods as (

    select
        won_deals.*,
        period_types.period_type,
        cast(
            case period_types.period_type
                when 'month' then {{ dbt.date_trunc('month', 'won_deals.close_date') }}
                else {{ dbt.date_trunc('quarter', 'won_deals.close_date') }}
            end
            as date
        ) as period_start,
        period_types.period_months,
        case
            when won_deals.won_recorded_date > won_deals.close_date then won_deals.won_recorded_date
            else won_deals.close_date
        end as counted_from_date
    from won_deals
    cross join period_types

),

won_periods_rebuilt as (

    -- the first day of each won period the run recomputes: the day it is counted from, or
    -- for a deal that keeps its days the first of the days recomputed for every deal
    select
        *,
        case
            when
                counted_from_date > {{ rebuilt_after }}
                or opportunity_id in (select changed_deals.opportunity_id from changed_deals)
                then counted_from_date
            else cast({{ dbt.dateadd('day', 1, rebuilt_after) }} as date)
        end as rebuilt_from_date
    from won_periods

),

won_periods_ended as (

    select
        *,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 'period_months', 'period_start')) }} as date)
            as period_end
    from won_periods_rebuilt

),

won_rows as (

    select
        calendar.calendar_date as snapshot_date,
        won_periods.period_type,
        won_periods.period_start,
        won_periods.period_end,
        won_periods.opportunity_id,
        won_periods.owner_id,
        won_periods.stage_name,
        won_periods.amount,
        won_periods.close_date,
        won_periods.forecast_category,
        first_capture.first_captured_date is not null
        and calendar.calendar_date >= first_capture.first_captured_date as is_rules_basis,
        'closed_won' as bucket
    from won_periods_ended as won_periods
    inner join calendar
        on calendar.calendar_date >= won_periods.rebuilt_from_date
            and calendar.calendar_date <= {{ as_of_date() }}
            and calendar.calendar_date <= won_periods.period_end
    cross join first_capture

),

unioned as (

    select * from open_bucketed
    where period_end >= snapshot_date
    union all
    select * from won_rows

),

final as (

    select
        snapshot_date,
        cast(period_type as {{ type_varchar() }}) as period_type,
        period_start,
        period_end,
        cast(opportunity_id as {{ type_varchar() }}) as opportunity_id,
        cast(owner_id as {{ type_varchar() }}) as owner_id,
        cast(stage_name as {{ type_varchar() }}) as stage_name,
        cast(amount as {{ type_double() }}) as amount,
        close_date,
        cast(forecast_category as {{ type_varchar() }}) as forecast_category,
        cast(bucket as {{ type_varchar() }}) as bucket,
        cast(
            case when is_rules_basis then 'captured_next_steps' else 'forecast_category_history' end
            as {{ type_varchar() }}
        ) as forecast_basis,
        cast(case when bucket = 'closed_won' then amount else 0 end as {{ type_double() }}) as closed_won_amount,
        cast(case when bucket = 'committed' then amount else 0 end as {{ type_double() }}) as committed_amount,
        cast(case when bucket = 'best_case' then amount else 0 end as {{ type_double() }}) as best_case_amount,
        cast(case when bucket = 'slipped' then amount else 0 end as {{ type_double() }}) as slipped_amount
    from unioned

)

select * from final
