-- One row per deal x state: the days over which the deal's stage, amount, close date
-- and forecast category held, from opportunity_history (every row, not only those
-- known on as_of_date), so the state of any deal on any day is a range lookup.
--
-- DESIGN.md "Stage on a day": the stage of the latest history row created on or
-- before the day, the current stage when there is none. So:
--   * a deal without history rows is one state in its current values from its
--     created date on;
--   * days before the first history row (when the deal was created earlier) are a
--     state in the current values, entered on the created date;
--   * each day with history rows starts a state in the values of the day's last row,
--     held until the day before the next history day; the last state (no later
--     history row exists) takes the current amount, close date and forecast category.
-- stage_entered_date is the first history row of the unbroken run of the stage.

with

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

history as (

    select * from {{ ref('stg_salesforce__opportunity_history') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

history_ordered as (

    -- one pass in history order: the row before (stage change?) and the row after (a
    -- later row on another day makes this row its day's last; its date is the next
    -- history day)
    select
        opportunity_history_id,
        opportunity_id,
        stage_name,
        forecast_category,
        amount,
        close_date,
        created_at,
        created_date,
        lag(stage_name) over (
            partition by opportunity_id order by created_at, opportunity_history_id
        ) as previous_stage_name,
        lead(created_date) over (
            partition by opportunity_id order by created_at, opportunity_history_id
        ) as next_row_date,
        min(created_date) over (partition by opportunity_id) as first_history_date
    from history

),

history_runs as (

    -- the date the unbroken run of the row's stage began, at row level (a stage can
    -- change and change back within a day), and the number of history days so far
    select
        *,
        max(
            case
                when previous_stage_name is null or stage_name <> previous_stage_name
                    then created_date
            end
        ) over (
            partition by opportunity_id
            order by created_at, opportunity_history_id
            rows between unbounded preceding and current row
        ) as stage_entered_date,
        sum(
            case
                when next_row_date is null or next_row_date > created_date then 1 else 0
            end
        ) over (
            partition by opportunity_id
            order by created_at, opportunity_history_id
            rows between unbounded preceding and current row
        ) as history_day_number
    from history_ordered

),

history_days as (

    -- the day's last row is the deal's state from that day on, until the next history day
    select
        opportunity_id,
        history_day_number,
        created_date as valid_from_date,
        next_row_date as next_history_date,
        first_history_date,
        stage_name,
        forecast_category,
        amount,
        close_date,
        stage_entered_date
    from history_runs
    where next_row_date is null or next_row_date > created_date

),

history_states as (

    select
        history_days.opportunity_id,
        -- numbered after the state before history, when the deal has one
        history_days.history_day_number
        + case when opportunities.created_date < history_days.first_history_date then 1 else 0 end
            as state_sequence,
        history_days.valid_from_date,
        {{ dbt.dateadd('day', -1, 'history_days.next_history_date') }} as valid_to_date,
        history_days.stage_name,
        case
            when history_days.next_history_date is null then opportunities.amount
            else history_days.amount
        end as amount,
        case
            when history_days.next_history_date is null then opportunities.close_date
            else history_days.close_date
        end as close_date,
        case
            when history_days.next_history_date is null then opportunities.forecast_category
            else history_days.forecast_category
        end as forecast_category,
        history_days.stage_entered_date,
        true as is_from_history
    from history_days
    inner join opportunities
        on history_days.opportunity_id = opportunities.opportunity_id

),

first_history as (

    select
        opportunity_id,
        first_history_date
    from history_days
    where history_day_number = 1

),

states_before_history as (

    -- no history row on or before these days: the current values, entered on creation
    select
        opportunities.opportunity_id,
        1 as state_sequence,
        opportunities.created_date as valid_from_date,
        {{ dbt.dateadd('day', -1, 'first_history.first_history_date') }} as valid_to_date,
        opportunities.stage_name,
        opportunities.amount,
        opportunities.close_date,
        opportunities.forecast_category,
        opportunities.created_date as stage_entered_date,
        false as is_from_history
    from opportunities
    left join first_history
        on opportunities.opportunity_id = first_history.opportunity_id
    where
        first_history.first_history_date is null
        or opportunities.created_date < first_history.first_history_date

),

unioned as (

    select * from history_states
    union all
    select * from states_before_history

),

final as (

    select
        unioned.opportunity_id,
        unioned.state_sequence,
        opportunities.owner_id,
        opportunities.account_id,
        opportunities.created_date,
        unioned.valid_from_date,
        cast(unioned.valid_to_date as date) as valid_to_date,
        unioned.stage_name,
        stage_map.stage_order,
        not coalesce(stage_map.is_closed, false) as is_open_stage,
        unioned.amount,
        unioned.close_date,
        unioned.forecast_category,
        unioned.stage_entered_date,
        unioned.is_from_history
    from unioned
    inner join opportunities
        on unioned.opportunity_id = opportunities.opportunity_id
    left join stage_map
        on unioned.stage_name = stage_map.stage_name

)

select * from final
