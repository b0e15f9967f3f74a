-- "Plan My Day": per owner, a ranked list of what to do today.
-- Block 1: deals closing within 7 days without a next step, overdue follow-ups (next
-- step dated before today), inbound leads created since the previous business day.
-- Block 2: late-stage deals with next steps due this week.
-- Within each block, ranked by revenue at stake (amount x probability).
-- What the CRM does not track never makes an action: a deal whose next step is unknown
-- (next steps not tracked) is not "without a next step"; without next-step dates there
-- are no overdue or due-this-week actions.

{#- Days relative to as_of_date in words (macros/relative_days.sql): 'today' / 'tomorrow' /
    'in 5 days' ahead, and '1 day overdue' / '22 days overdue' past a due date. -#}
{%- set days_to_close = days_between(as_of_date(), 'close_date') -%}
{%- set days_to_next_step = days_between(as_of_date(), 'next_step_date') -%}
{%- set days_past_next_step = days_between('next_step_date', as_of_date()) -%}
{%- set close_in_words = days_ahead_in_words(days_to_close) -%}
{%- set next_step_due_in_words = days_ahead_in_words(days_to_next_step) -%}
{%- set next_step_overdue_in_words = days_overdue_in_words(days_past_next_step) %}

with

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

probabilities as (

    select * from {{ ref('int_deal_probabilities') }}

),

leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

previous_business_day as (

    select max(calendar_date) as calendar_date
    from calendar
    where is_business_day and calendar_date < {{ as_of_date() }}

),

open_deals as (

    select
        deals.*,
        coalesce(probabilities.adjusted_probability, deals.default_probability, 0) as probability
    from deals
    left join probabilities
        on deals.opportunity_id = probabilities.opportunity_id
    where deals.is_open

),

deal_flags as (

    -- each action's rule, once; a deal takes the first that holds, in this order
    select
        *,
        close_date >= {{ as_of_date() }}
        and close_date <= {{ dbt.dateadd('day', var('action_closing_within_days'), as_of_date()) }}
        and not has_next_step as is_closing_without_next_step,
        next_step_date < {{ as_of_date() }} as is_overdue_follow_up,
        stage_order >= {{ var('late_stage_min_order') }}
        and next_step_date >= {{ as_of_date() }}
        and next_step_date <= {{ dbt.dateadd('day', 6, dbt.date_trunc('week', as_of_date())) }}
            as is_late_stage_next_step
    from open_deals

),

deal_action_types as (

    select
        *,
        case
            when is_closing_without_next_step then 'closing_without_next_step'
            when is_overdue_follow_up then 'overdue_follow_up'
            when is_late_stage_next_step then 'late_stage_next_step'
        end as action_type
    from deal_flags

),

deal_actions as (

    select
        owner_id,
        opportunity_id,
        cast(null as {{ dbt.type_string() }}) as lead_id,
        case
            when action_type = 'late_stage_next_step' then 2
            when action_type is not null then 1
        end as priority_block,
        action_type,
        opportunity_name as subject_name,
        stage_name,
        amount,
        probability,
        close_date,
        next_step,
        next_step_date
    from deal_action_types

),

lead_value as (

    -- a new lead has no amount: value it as an average open deal in the first open stage
    select
        avg(open_deals.amount) * min(first_stage.probability) as lead_revenue_at_stake_amount
    -- the inner selects read open_deals again, uncorrelated (sqlfluff sees a reused alias)
    -- noqa: disable=AL04,RF02,ST05
    from open_deals
    cross join (
        select min(probability) as probability
        from open_deals
        where stage_order = (select min(stage_order) from open_deals)
    ) as first_stage
    -- noqa: enable=all

),

lead_actions as (

    select
        leads.owner_id,
        cast(null as {{ dbt.type_string() }}) as opportunity_id,
        leads.lead_id,
        1 as priority_block,
        'new_inbound_lead' as action_type,
        leads.company_name as subject_name,
        cast(null as {{ dbt.type_string() }}) as stage_name,
        cast(null as {{ type_double() }}) as amount,
        cast(null as {{ type_double() }}) as probability,
        cast(null as date) as close_date,
        cast(null as {{ dbt.type_string() }}) as next_step,
        cast(null as date) as next_step_date
    from leads
    cross join previous_business_day
    where
        not leads.is_converted
        and leads.lead_source in {{ sql_literal_list(var('inbound_lead_sources')) }}
        and leads.created_date >= previous_business_day.calendar_date
        and leads.created_date <= {{ as_of_date() }}

),

actions as (

    select
        deal_actions.*,
        coalesce(deal_actions.amount, 0) * deal_actions.probability as revenue_at_stake_amount
    from deal_actions
    where deal_actions.priority_block is not null

    union all

    select
        lead_actions.*,
        coalesce(lead_value.lead_revenue_at_stake_amount, 0) as revenue_at_stake_amount
    from lead_actions
    cross join lead_value

),

actions_tracked as (

    select
        actions.*,
        tracking.is_next_step_date_tracked
    from actions
    cross join tracking

),

described as (

    select
        *,
        case action_type
            when 'closing_without_next_step'
                then 'Book a next step with the buyer for ' || subject_name
            when 'overdue_follow_up'
                then 'Follow up on ' || subject_name || ': '
                || coalesce(nullif(trim(next_step), ''), 'the overdue next step')
            when 'new_inbound_lead'
                then 'Contact the new inbound lead from ' || coalesce(subject_name, 'an unknown company')
            when 'late_stage_next_step'
                then 'Prepare: ' || coalesce(nullif(trim(next_step), ''), 'next step') || ' (' || subject_name || ')'
        end as action,
        -- the reason in words, with days relative to as_of_date ("22 days overdue", "due
        -- tomorrow"), so every consumer of the mart says the same thing
        case action_type
            when 'closing_without_next_step'
                then 'Closes ' || {{ close_in_words }}
                || case when is_next_step_date_tracked then ' with no dated next step' else ' with no next step' end
            when 'overdue_follow_up'
                then 'Next step ' || {{ next_step_overdue_in_words }}
            when 'new_inbound_lead'
                then 'Inbound lead created since the last business day; speed to lead wins'
            when 'late_stage_next_step'
                then stage_name || ' deal with a next step due '
                || {{ next_step_due_in_words }}
        end as reason
    from actions_tracked

),

ranked as (

    select
        *,
        row_number() over (
            partition by owner_id
            order by
                priority_block asc,
                revenue_at_stake_amount desc,
                coalesce(opportunity_id, lead_id)
        ) as action_rank
    from described

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        owner_id,
        cast(action_rank as integer) as rank,
        cast(priority_block as integer) as priority_block,
        action_type,
        opportunity_id,
        lead_id,
        action,
        reason,
        cast(revenue_at_stake_amount as {{ type_double() }}) as revenue_at_stake_amount,
        cast(amount as {{ type_double() }}) as amount,
        cast(probability as {{ type_double() }}) as probability,
        stage_name,
        close_date,
        next_step_date
    from ranked

)

select * from final
