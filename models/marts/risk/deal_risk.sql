-- One row per deal open on as_of_date: the leakage flags of DESIGN.md, the four
-- risk components, the 0-100 risk score, its level and the reasons in words (every
-- reason, and the main one with days relative to as_of_date).

{#- main_reason: the raised flag whose score component is the largest; a tie goes to the
    first of stage time, close date, next step, activity. -#}
{%- set days_since_close = days_between('close_date', as_of_date()) -%}
{%- set days_to_close = days_between(as_of_date(), 'close_date') -%}
{%- set days_past_next_step = days_between('next_step_date', as_of_date()) %}

with

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

interactions as (

    select * from {{ ref('int_deal_interactions_as_of') }}

),

typical as (

    select * from {{ ref('int_stage_durations_typical') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

open_deals as (

    select * from deals
    where is_open

),

as_of_day as (

    select business_day_index
    from calendar
    where calendar_date = {{ as_of_date() }}

),

measured as (

    select
        open_deals.*,
        typical.typical_stage_days,
        interactions.last_interaction_date,
        interactions.last_interaction_type,
        tracking.is_activity_tracked,
        tracking.is_history_tracked,
        tracking.is_next_step_tracked,
        tracking.is_next_step_date_tracked,
        -- not tracked: unknown, never "no interaction" (DESIGN.md "Not tracked means unknown")
        case
            when tracking.is_activity_tracked then coalesce(interactions.floating_window_interaction_count, 0)
        end as floating_window_interaction_count,
        case
            when tracking.is_activity_tracked then coalesce(interactions.optimism_window_interaction_count, 0)
        end as optimism_window_interaction_count,
        case
            when tracking.is_activity_tracked
                then as_of_day.business_day_index - since_day.business_day_index
        end as business_days_since_last_interaction,
        case
            when tracking.is_history_tracked
                then coalesce(
                    open_deals.last_history_date
                    > {{ dbt.dateadd('day', -var('optimism_hold_days'), as_of_date()) }},
                    false
                )
        end as has_recent_history_change
    from open_deals
    left join typical
        on open_deals.stage_name = typical.stage_name
    left join interactions
        on open_deals.opportunity_id = interactions.opportunity_id
    cross join as_of_day
    cross join tracking
    left join calendar as since_day
        on coalesce(interactions.last_interaction_date, open_deals.created_date) = since_day.calendar_date

),

flagged as (

    select
        *,
        case
            when typical_stage_days > 0 then days_in_stage / typical_stage_days
            when days_in_stage > 0 then {{ var('stalled_multiplier') }} + 1
            else 0
        end as stage_time_ratio,
        coalesce(days_in_stage > {{ var('stalled_multiplier') }} * typical_stage_days, false) as is_stalled,
        case
            when is_activity_tracked
                then coalesce(business_days_since_last_interaction >= {{ var('inactive_business_days') }}, false)
        end as is_inactive,
        coalesce(close_date < {{ as_of_date() }}, false) as is_close_date_past,
        -- three-valued: an unknown input leaves a flag NULL unless another input already
        -- makes it false (a deal 3 days in its stage is not floating, tracked or not)
        coalesce(
            close_date >= {{ as_of_date() }}
            and close_date <= {{ dbt.dateadd('day', var('closing_soon_days'), as_of_date()) }},
            false
        )
        and not has_next_step as is_closing_soon_without_next_step,
        coalesce(days_in_stage >= {{ var('floating_min_days_in_stage') }}, false)
        and floating_window_interaction_count = 0
        and not has_next_step as is_floating,
        case
            when is_activity_tracked
                then coalesce(
                    last_interaction_type in ('call', 'meeting')
                    and business_days_since_last_interaction >= {{ var('assumed_follow_up_business_days') }},
                    false
                )
                and not has_next_step
        end as is_assumed_follow_up,
        not has_recent_history_change and optimism_window_interaction_count = 0 as is_optimism_hold
    from measured

),

scored as (

    select
        *,
        {{ var('risk_stage_time_weight') }} * least(greatest(stage_time_ratio - 1, 0), 1)
            as stage_time_component,
        case
            when is_activity_tracked
                then {{ var('risk_activity_weight') }} * least(
                    greatest(
                        business_days_since_last_interaction / {{ var('risk_activity_full_business_days') }}.0, 0
                    ),
                    1
                )
        end as activity_component,
        case
            when has_next_step then 0
            when not has_next_step then {{ var('risk_next_step_weight') }}
        end as next_step_component,
        case
            when is_close_date_past then {{ var('risk_close_date_weight') }}
            -- least() skips nulls: unknown pushes or an unknown next step leave it unknown
            when close_date_push_count is null or is_closing_soon_without_next_step is null then null
            else least(
                    {{ var('risk_close_date_weight') }},
                    {{ var('risk_close_date_push_points') }} * close_date_push_count
                    + case
                        when is_closing_soon_without_next_step then {{ var('risk_close_date_soon_points') }}
                        else 0
                    end
                )
        end as close_date_component
    from flagged

),

weighed as (

    select
        *,
        case when stage_time_component is not null then {{ var('risk_stage_time_weight') }} else 0 end
        + case when activity_component is not null then {{ var('risk_activity_weight') }} else 0 end
        + case when next_step_component is not null then {{ var('risk_next_step_weight') }} else 0 end
        + case when close_date_component is not null then {{ var('risk_close_date_weight') }} else 0 end
            as known_weight
    from scored

),

totalled as (

    select
        *,
        -- every component known: their sum; else the known ones x 100 / their weights
        case
            when
                stage_time_component is not null
                and activity_component is not null
                and next_step_component is not null
                and close_date_component is not null
                then stage_time_component + activity_component + next_step_component + close_date_component
            when known_weight > 0
                then (
                    coalesce(stage_time_component, 0)
                    + coalesce(activity_component, 0)
                    + coalesce(next_step_component, 0)
                    + coalesce(close_date_component, 0)
                ) * 100.0 / known_weight
        end as risk_score
    from weighed

),

reasoned as (

    -- each flag raised, in words and with the component it scores (NULL: not raised)
    select
        *,
        case when is_stalled then coalesce(stage_time_component, 0) end as stage_time_points,
        case
            when is_stalled
                then 'Stalled: ' || cast(days_in_stage as {{ dbt.type_string() }})
                || ' days in ' || stage_name || ', typical is '
                -- halves round up on every engine (PostgreSQL's round of a double is half-even)
                || cast(cast(floor(typical_stage_days + 0.5) as integer) as {{ dbt.type_string() }})
        end as stage_time_reason,
        case
            when is_close_date_past or close_date_push_count > 0 or is_closing_soon_without_next_step
                then coalesce(close_date_component, 0)
        end as close_date_points,
        case
            when is_close_date_past
                then 'Close date passed ' || {{ days_ago_in_words(days_since_close) }}
            when is_closing_soon_without_next_step
                then 'Closes ' || {{ days_ahead_in_words(days_to_close) }} || ' without a next step'
            when close_date_push_count > 0
                then 'Close date pushed ' || cast(close_date_push_count as {{ dbt.type_string() }})
                || case when close_date_push_count = 1 then ' time' else ' times' end
        end as close_date_reason,
        case when not has_next_step then coalesce(next_step_component, 0) end as next_step_points,
        -- what is wrong with the next step's text, said alike in main_reason and risk_reasons;
        -- NULL when the text is fine and only its date is the matter (each says that its way)
        case
            when not has_next_step and (next_step is null or trim(next_step) = '')
                then 'No next step'
            when not has_next_step
                and lower(trim(next_step)) in {{ sql_string_list(var('vague_next_step_phrases')) }}
                then 'Next step "' || trim(next_step) || '" is too vague'
            when not has_next_step and next_step_date is null
                then 'Next step has no date'
        end as next_step_text_reason,
        case
            when not has_next_step and next_step_date < {{ as_of_date() }}
                then 'Next step ' || {{ days_overdue_in_words(days_past_next_step) }}
            when not has_next_step
                then 'No next step that counts'
        end as next_step_date_reason,
        case when is_inactive then coalesce(activity_component, 0) end as activity_points,
        case
            when last_interaction_date is null and is_inactive
                then 'No call, email or meeting logged since it was created '
                || cast(business_days_since_last_interaction as {{ dbt.type_string() }})
                || ' business days ago'
            when is_inactive
                then 'No call, email or meeting for '
                || cast(business_days_since_last_interaction as {{ dbt.type_string() }})
                || ' business days'
        end as activity_reason
    from totalled

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        opportunity_id,
        owner_id,
        account_id,
        opportunity_name,
        stage_name,
        cast(amount as {{ type_double() }}) as amount,
        close_date,
        next_step,
        next_step_date,
        cast(days_in_stage as integer) as days_in_stage,
        cast(typical_stage_days as {{ type_double() }}) as typical_stage_days,
        last_interaction_date,
        last_interaction_type,
        cast(business_days_since_last_interaction as integer) as business_days_since_last_interaction,
        is_stalled,
        is_inactive,
        has_next_step,
        is_close_date_past,
        cast(close_date_push_count as integer) as close_date_push_count,
        is_closing_soon_without_next_step,
        is_floating,
        is_assumed_follow_up,
        is_optimism_hold,
        cast(stage_time_component as {{ type_double() }}) as stage_time_component,
        cast(activity_component as {{ type_double() }}) as activity_component,
        cast(next_step_component as {{ type_double() }}) as next_step_component,
        cast(close_date_component as {{ type_double() }}) as close_date_component,
        cast(risk_score as {{ type_double() }}) as risk_score,
        cast(known_weight as {{ type_double() }}) as risk_known_weight,
        case
            when risk_score >= {{ var('risk_high_threshold') }} then 'high'
            when risk_score >= {{ var('risk_medium_threshold') }} then 'medium'
            else 'low'
        end as risk_level,
        concat_ws(
            '; ',
            case
                when not is_activity_tracked
                    then 'Activity not tracked: inactive, floating, follow-up and optimism-hold unknown'
            end,
            case
                when not is_next_step_tracked
                    then 'Next step not tracked in the CRM'
                when not is_next_step_date_tracked
                    then 'Next-step date not tracked: next step judged on its text'
            end,
            case
                when not is_history_tracked
                    then 'Opportunity history not tracked: close-date pushes unknown'
            end,
            stage_time_reason,  -- the same words main_reason uses (reasoned)
            activity_reason,
            coalesce(
                next_step_text_reason,
                case
                    when not has_next_step
                        then 'Next step was due ' || cast(next_step_date as {{ dbt.type_string() }})
                end
            ),
            case
                when is_close_date_past
                    then 'Close date ' || cast(close_date as {{ dbt.type_string() }}) || ' has passed'
            end,
            case
                when close_date_push_count > 0
                    then 'Close date pushed ' || cast(close_date_push_count as {{ dbt.type_string() }})
                    || case when close_date_push_count = 1 then ' time' else ' times' end
            end,
            case
                when is_closing_soon_without_next_step
                    then 'Closes within ' || cast({{ var('closing_soon_days') }} as {{ dbt.type_string() }})
                    || ' days without a next step'
            end,
            case
                when is_floating
                    then 'Floating: no call, email or meeting in '
                    || cast({{ var('floating_no_interaction_days') }} as {{ dbt.type_string() }})
                    || ' days and no next step'
            end,
            case
                when is_assumed_follow_up
                    then 'Last ' || last_interaction_type || ' had no follow-up scheduled'
            end,
            case
                when is_optimism_hold
                    then 'Optimism hold: nothing has moved in '
                    || cast({{ var('optimism_hold_days') }} as {{ dbt.type_string() }}) || ' days'
            end
        ) as risk_reasons,
        case
            when stage_time_points >= coalesce(close_date_points, -1)
                and stage_time_points >= coalesce(next_step_points, -1)
                and stage_time_points >= coalesce(activity_points, -1)
                then stage_time_reason
            when close_date_points >= coalesce(next_step_points, -1)
                and close_date_points >= coalesce(activity_points, -1)
                then close_date_reason
            when next_step_points >= coalesce(activity_points, -1)
                then coalesce(next_step_text_reason, next_step_date_reason)
            when activity_points is not null
                then activity_reason
        end as main_reason
    from reasoned

)

select * from final
