-- The weekly trend of pipeline hygiene, per owner, per team and for the company: each
-- week as the pipeline stood on the week's last day (its Sunday, or as_of_date for the
-- current week), from fct_deal_snapshots.
-- Derivable from history for every week: open deals and amount, past close dates,
-- stalled (days in stage > stalled_multiplier x the typical duration as it stood that
-- day) and inactive (business days since the last interaction on or before the day).
-- Next steps are not in opportunity_history: the next-step counts and share, and
-- floating (which needs "no next step"), come from opportunity_state_snapshot and are
-- null for days before it first captured the CRM's state. The current week's row
-- therefore equals pipeline_hygiene (the next-step columns once the snapshot runs).
-- What the CRM does not track is NULL: the next-step columns without next steps, the
-- inactive and floating counts without activity (int_source_tracking).

with

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

deal_states as (

    select * from {{ ref('int_opportunity_states_ranged') }}

),

typical_weekly as (

    select * from {{ ref('int_stage_durations_typical_weekly') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

interactions as (

    select * from {{ ref('int_deal_interactions') }}

),

opportunity_states as (

    select * from {{ ref('opportunity_state_snapshot') }}

),

reps as (

    select * from {{ ref('dim_reps') }}

),

weeks as (

    -- from the week the first deal was created (or of as_of_date) to the current week
    select
        calendar_date as week_start,
        case
            when {{ dbt.dateadd('day', 6, 'calendar_date') }} > {{ as_of_date() }} then {{ as_of_date() }}
            else cast({{ dbt.dateadd('day', 6, 'calendar_date') }} as date)
        end as snapshot_date
    from calendar
    where
        iso_day_of_week = 1
        and calendar_date <= {{ as_of_date() }}
        and calendar_date > (
            select
                cast({{ dbt.dateadd('day', -7, 'coalesce(min(created_date), ' ~ as_of_date() ~ ')') }} as date)
            from deal_states
        )

),

first_capture as (

    select min(cast(dbt_valid_from as date)) as first_captured_date
    from opportunity_states

),

interaction_weeks as (

    -- each deal's last interaction of each week, up to as_of_date
    select
        opportunity_id,
        cast(
            {{ dbt.dateadd('day', '1 - ' ~ iso_day_of_week('interaction_date'), 'interaction_date') }} as date
        ) as week_start,
        max(interaction_date) as last_interaction_date
    from interactions
    where interaction_date <= {{ as_of_date() }}
    group by 1, 2

),

weekly_deals as (

    select
        weeks.week_start,
        snapshots.snapshot_date,
        snapshots.opportunity_id,
        snapshots.owner_id,
        reps.team,
        snapshots.stage_name,
        snapshots.amount,
        snapshots.close_date,
        snapshots.created_date,
        snapshots.days_in_stage,
        snapshots.is_close_date_past,
        coalesce(typical_weekly.median_interval_days, stage_map.expected_days_in_stage)
            as typical_stage_days
    from weeks
    inner join snapshots
        on weeks.snapshot_date = snapshots.snapshot_date
    left join reps
        on snapshots.owner_id = reps.owner_id
    left join typical_weekly
        on snapshots.snapshot_date = typical_weekly.measured_date
            and snapshots.stage_name = typical_weekly.stage_name
    left join stage_map
        on snapshots.stage_name = stage_map.stage_name

),

stacked as (

    -- each week's deal rows after the deal's interaction weeks, so a running max gives
    -- the last interaction on or before the week's snapshot day: an interaction of the
    -- week is never after its snapshot day (the Sunday, or as_of_date)
    select
        opportunity_id,
        week_start,
        1 as row_kind,
        cast(null as date) as last_interaction_date
    from weekly_deals
    union all
    select
        opportunity_id,
        week_start,
        0 as row_kind,
        last_interaction_date
    from interaction_weeks

),

last_interactions as (

    select
        opportunity_id,
        week_start,
        row_kind,
        max(last_interaction_date) over (
            partition by opportunity_id
            order by week_start, row_kind
            rows between unbounded preceding and current row
        ) as last_interaction_date
    from stacked

),

with_interactions as (

    select
        weekly_deals.*,
        last_interactions.last_interaction_date
    from weekly_deals
    left join last_interactions
        on weekly_deals.opportunity_id = last_interactions.opportunity_id
            and weekly_deals.week_start = last_interactions.week_start
            and last_interactions.row_kind = 1

),

with_next_steps as (

    select
        with_interactions.*,
        first_capture.first_captured_date is not null
        and with_interactions.snapshot_date >= first_capture.first_captured_date as is_next_step_captured,
        opportunity_states.opportunity_id is not null
        and {{ has_next_step(
            'opportunity_states.next_step',
            'opportunity_states.next_step_date',
            'with_interactions.snapshot_date',
            'tracking.is_next_step_date_tracked'
        ) }} as has_captured_next_step
    from with_interactions
    cross join first_capture
    cross join tracking
    left join opportunity_states
        on with_interactions.opportunity_id = opportunity_states.opportunity_id
            and cast(opportunity_states.dbt_valid_from as date) <= with_interactions.snapshot_date
            and (
                opportunity_states.dbt_valid_to is null
                or cast(opportunity_states.dbt_valid_to as date) > with_interactions.snapshot_date
            )

),

flagged as (

    select
        with_next_steps.week_start,
        with_next_steps.snapshot_date,
        with_next_steps.opportunity_id,
        with_next_steps.owner_id,
        with_next_steps.team,
        with_next_steps.amount,
        with_next_steps.is_close_date_past,
        coalesce(
            with_next_steps.days_in_stage > {{ var('stalled_multiplier') }} * with_next_steps.typical_stage_days,
            false
        ) as is_stalled,
        coalesce(
            snapshot_day.business_day_index - since_day.business_day_index >= {{ var('inactive_business_days') }},
            false
        ) as is_inactive,
        with_next_steps.is_next_step_captured,
        case
            when with_next_steps.is_next_step_captured then coalesce(with_next_steps.has_captured_next_step, false)
        end as has_next_step,
        case
            when with_next_steps.is_next_step_captured
                then coalesce(
                    with_next_steps.days_in_stage >= {{ var('floating_min_days_in_stage') }}
                    and (
                        with_next_steps.last_interaction_date is null
                        or with_next_steps.last_interaction_date <= {{ dbt.dateadd(
                            'day', -var('floating_no_interaction_days'), 'with_next_steps.snapshot_date'
                        ) }}
                    )
                    and not with_next_steps.has_captured_next_step,
                    false
                )
        end as is_floating
    from with_next_steps
    left join calendar as snapshot_day
        on with_next_steps.snapshot_date = snapshot_day.calendar_date
    left join calendar as since_day
        on coalesce(with_next_steps.last_interaction_date, with_next_steps.created_date) = since_day.calendar_date

),

by_owner as (

    select
        week_start,
        cast('owner' as {{ dbt.type_string() }}) as rollup_level,
        owner_id,
        team,
        count(*) as open_deal_count,
        sum(amount) as open_amount,
        sum(case when is_close_date_past then 1 else 0 end) as close_date_past_count,
        sum(case when is_stalled then 1 else 0 end) as stalled_count,
        sum(case when is_inactive then 1 else 0 end) as inactive_count,
        sum(case when has_next_step then 1 else 0 end) as next_step_count,
        sum(case when is_floating then 1 else 0 end) as floating_count
    from flagged
    group by week_start, owner_id, team

),

by_team as (

    select
        week_start,
        cast('team' as {{ dbt.type_string() }}) as rollup_level,
        cast(null as {{ dbt.type_string() }}) as owner_id,
        team,
        count(*) as open_deal_count,
        sum(amount) as open_amount,
        sum(case when is_close_date_past then 1 else 0 end) as close_date_past_count,
        sum(case when is_stalled then 1 else 0 end) as stalled_count,
        sum(case when is_inactive then 1 else 0 end) as inactive_count,
        sum(case when has_next_step then 1 else 0 end) as next_step_count,
        sum(case when is_floating then 1 else 0 end) as floating_count
    from flagged
    group by week_start, team

),

by_company as (

    -- every week has a company row, even when nothing was open
    select
        weeks.week_start,
        cast('company' as {{ dbt.type_string() }}) as rollup_level,
        cast(null as {{ dbt.type_string() }}) as owner_id,
        cast(null as {{ dbt.type_string() }}) as team,
        count(flagged.opportunity_id) as open_deal_count,
        sum(flagged.amount) as open_amount,
        sum(case when flagged.is_close_date_past then 1 else 0 end) as close_date_past_count,
        sum(case when flagged.is_stalled then 1 else 0 end) as stalled_count,
        sum(case when flagged.is_inactive then 1 else 0 end) as inactive_count,
        sum(case when flagged.has_next_step then 1 else 0 end) as next_step_count,
        sum(case when flagged.is_floating then 1 else 0 end) as floating_count
    from weeks
    left join flagged
        on weeks.week_start = flagged.week_start
    group by weeks.week_start

),

rollups as (

    select * from by_owner
    union all
    select * from by_team
    union all
    select * from by_company

),

final as (

    select
        rollups.week_start,
        weeks.snapshot_date,
        rollups.rollup_level,
        rollups.owner_id,
        rollups.team,
        cast(rollups.open_deal_count as integer) as open_deal_count,
        cast(coalesce(rollups.open_amount, 0) as {{ type_double() }}) as open_amount,
        cast(coalesce(rollups.close_date_past_count, 0) as integer) as close_date_past_count,
        cast(coalesce(rollups.stalled_count, 0) as integer) as stalled_count,
        cast(case when tracking.is_activity_tracked then coalesce(rollups.inactive_count, 0) end as integer)
            as inactive_count,
        coalesce(weeks.snapshot_date >= first_capture.first_captured_date, false) as is_next_step_captured,
        cast(
            case
                when tracking.is_next_step_tracked and weeks.snapshot_date >= first_capture.first_captured_date
                    then coalesce(rollups.next_step_count, 0)
            end as integer
        ) as next_step_count,
        cast(
            case
                when tracking.is_next_step_tracked and weeks.snapshot_date >= first_capture.first_captured_date
                    then rollups.open_deal_count - coalesce(rollups.next_step_count, 0)
            end as integer
        ) as no_next_step_count,
        cast(
            case
                when
                    tracking.is_next_step_tracked
                    and weeks.snapshot_date >= first_capture.first_captured_date
                    and rollups.open_deal_count > 0
                    then coalesce(rollups.next_step_count, 0) * 1.0 / rollups.open_deal_count
            end as {{ type_double() }}
        ) as next_step_rate,
        cast(
            case
                when
                    tracking.is_activity_tracked
                    and tracking.is_next_step_tracked
                    and weeks.snapshot_date >= first_capture.first_captured_date
                    then coalesce(rollups.floating_count, 0)
            end as integer
        ) as floating_count
    from rollups
    inner join weeks
        on rollups.week_start = weeks.week_start
    cross join first_capture
    cross join tracking

)

select * from final
