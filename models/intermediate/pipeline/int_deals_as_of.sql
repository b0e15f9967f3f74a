-- One row per deal created on or before as_of_date: its state on that day.
-- Stage: the latest history row on or before the day (the current stage when there
-- is none). Amount and close date: the current values once no later history row
-- exists, else the values of that history row, so a past as_of_date answers as
-- that day would have.

with

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

history as (

    select * from {{ ref('int_opportunity_history_as_of') }}

),

all_history as (

    select * from {{ ref('stg_salesforce__opportunity_history') }}

),

stages as (

    select * from {{ ref('int_opportunity_stages_sequenced') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

latest_history as (

    select *
    from (
        select
            history.*,
            row_number() over (
                partition by history.opportunity_id order by history.history_sequence desc
            ) as recency
        from history
    ) as ranked
    where recency = 1

),

history_rollup as (

    select
        opportunity_id,
        sum(case when is_close_date_push then 1 else 0 end) as close_date_push_count,
        max(created_date) as last_history_date
    from history
    group by opportunity_id

),

deals_with_later_history as (

    select distinct opportunity_id
    from all_history
    where created_date > {{ as_of_date() }}

),

current_stage_entry as (

    select
        opportunity_id,
        entered_date as stage_entered_date
    from stages
    where is_current

),

joined as (

    select
        opportunities.opportunity_id,
        opportunities.account_id,
        opportunities.owner_id,
        opportunities.opportunity_name,
        opportunities.opportunity_type,
        opportunities.lead_source,
        opportunities.next_step,
        opportunities.next_step_date,
        opportunities.trigger_event,
        opportunities.technical_fit,
        opportunities.created_at,
        opportunities.created_date,
        coalesce(latest_history.stage_name, opportunities.stage_name) as stage_name,
        case
            when later.opportunity_id is not null and latest_history.opportunity_id is not null
                then latest_history.amount
            else opportunities.amount
        end as amount,
        case
            when later.opportunity_id is not null and latest_history.opportunity_id is not null
                then latest_history.close_date
            else opportunities.close_date
        end as close_date,
        case
            when later.opportunity_id is not null and latest_history.opportunity_id is not null
                then latest_history.forecast_category
            else opportunities.forecast_category
        end as forecast_category,
        -- unknown, not 0, when the CRM has no opportunity history
        case
            when tracking.is_history_tracked then coalesce(history_rollup.close_date_push_count, 0)
        end as close_date_push_count,
        history_rollup.last_history_date,
        current_stage_entry.stage_entered_date
    from opportunities
    left join latest_history
        on opportunities.opportunity_id = latest_history.opportunity_id
    left join history_rollup
        on opportunities.opportunity_id = history_rollup.opportunity_id
    left join deals_with_later_history as later
        on opportunities.opportunity_id = later.opportunity_id
    left join current_stage_entry
        on opportunities.opportunity_id = current_stage_entry.opportunity_id
    cross join tracking
    where opportunities.created_date <= {{ as_of_date() }}

),

final as (

    select
        joined.*,
        stage_map.stage_order,
        stage_map.is_closed as is_closed_stage,
        stage_map.is_won as is_won_stage,
        stage_map.default_probability,
        not coalesce(stage_map.is_closed, false) as is_open,
        -- a next step: not blank, not a vague phrase, and dated today or later (the text
        -- alone when the CRM has no next-step date; unknown when it has no next step)
        case
            when tracking.is_next_step_tracked
                then {{ has_next_step(
                    'joined.next_step', 'joined.next_step_date', as_of_date(), 'tracking.is_next_step_date_tracked'
                ) }}
        end as has_next_step,
        {{ days_between('joined.stage_entered_date', as_of_date()) }} as days_in_stage
    from joined
    left join stage_map
        on joined.stage_name = stage_map.stage_name
    cross join tracking

)

select * from final
