-- How each deal moved the open pipeline of a period between d0 (window_start_date) and
-- d1 = as_of_date (DESIGN.md "Pipeline waterfall"). One row per period x window x deal of
-- S u E: S = the deals open at the end of d0 with close_date in the period, E = the same
-- at d1, both from the deal snapshots. Each deal falls in exactly one movement:
--   in S and E: increased / decreased / unchanged (amount at d1 - amount at d0);
--   in S only:  won or lost (closed by d1, at its d0 amount), pushed_out (still open at d1,
--               close date moved out of the period) or removed (deleted or otherwise gone);
--   in E only:  created (created after d0) or pulled_in (existed at d0: open with a close
--               date outside the period, or closed then and reopened since).
-- The deal's owner is its owner at d1 when in E, else at d0 (DECISIONS.md).
-- Without opportunity history the snapshots hold every deal in its current state back to
-- its creation, so how the pipeline moved is unknown: no rows (pipeline_waterfall says why).

with

windows as (

    select * from {{ ref('int_pipeline_waterfall_windows') }}

),

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}

),

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

window_days as (

    -- the two days each window compares
    select
        period,
        period_start,
        period_end,
        window_name,
        window_start_date as snapshot_date
    from windows
    union all
    select
        period,
        period_start,
        period_end,
        window_name,
        window_end_date
    from windows

),

day_snapshots as (

    -- the snapshot rows of those days only (an equi-join: the snapshots are the big table)
    select
        window_days.period,
        window_days.window_name,
        snapshots.snapshot_date,
        snapshots.opportunity_id,
        snapshots.owner_id,
        snapshots.stage_name,
        coalesce(snapshots.amount, 0) as amount,
        snapshots.close_date,
        snapshots.created_date,
        coalesce(
            snapshots.close_date >= window_days.period_start and snapshots.close_date <= window_days.period_end,
            false
        ) as is_in_period
    from window_days
    inner join snapshots
        on window_days.snapshot_date = snapshots.snapshot_date
    cross join tracking
    where tracking.is_history_tracked

),

members as (

    -- S u E: the deals open in the period at d0 or at d1
    select distinct
        day_snapshots.period,
        day_snapshots.window_name,
        day_snapshots.opportunity_id
    from day_snapshots
    where day_snapshots.is_in_period

),

joined as (

    select
        windows.period,
        windows.period_start,
        windows.period_end,
        windows.window_name,
        windows.window_start_date,
        windows.window_end_date,
        members.opportunity_id,
        coalesce(at_start.is_in_period, false) as is_in_start,
        coalesce(at_end.is_in_period, false) as is_in_end,
        at_start.opportunity_id is not null as is_open_at_start,
        at_end.opportunity_id is not null as is_open_at_end,
        at_start.owner_id as owner_id_start,
        at_end.owner_id as owner_id_end,
        at_start.amount as snapshot_amount_start,
        at_end.amount as snapshot_amount_end,
        at_start.stage_name as snapshot_stage_name_start,
        at_end.stage_name as snapshot_stage_name_end,
        at_start.close_date as snapshot_close_date_start,
        at_end.close_date as snapshot_close_date_end,
        at_end.created_date as created_date_end,
        deals.opportunity_id is not null as is_in_crm,
        deals.is_open as is_open_now,
        coalesce(deals.is_won_stage, false) as is_won_now,
        deals.stage_name as stage_name_now,
        deals.close_date as close_date_now
    from members
    inner join windows
        on
            members.period = windows.period
            and members.window_name = windows.window_name
    left join day_snapshots as at_start
        on
            members.period = at_start.period
            and members.window_name = at_start.window_name
            and members.opportunity_id = at_start.opportunity_id
            and at_start.snapshot_date = windows.window_start_date
    left join day_snapshots as at_end
        on
            members.period = at_end.period
            and members.window_name = at_end.window_name
            and members.opportunity_id = at_end.opportunity_id
            and at_end.snapshot_date = windows.window_end_date
    left join deals
        on members.opportunity_id = deals.opportunity_id

),

classified as (

    select
        *,
        case
            when is_in_start and is_in_end
                then
                case
                    when snapshot_amount_end > snapshot_amount_start then 'increased'
                    when snapshot_amount_end < snapshot_amount_start then 'decreased'
                    else 'unchanged'
                end
            when is_in_start
                then
                case
                    when is_open_at_end then 'pushed_out'
                    when is_in_crm and not is_open_now and is_won_now then 'won'
                    when is_in_crm and not is_open_now then 'lost'
                    else 'removed'
                end
            when created_date_end > window_start_date then 'created'
            else 'pulled_in'
        end as movement,
        case when is_in_start then snapshot_amount_start else 0 end as amount_start,
        case when is_in_end then snapshot_amount_end else 0 end as amount_end,
        case when is_in_end then owner_id_end else owner_id_start end as owner_id
    from joined

),

final as (

    select
        classified.period,
        classified.period_start,
        classified.period_end,
        classified.window_name,
        classified.window_start_date,
        classified.window_end_date,
        classified.opportunity_id,
        classified.movement,
        classified.amount_start,
        classified.amount_end,
        case classified.movement
            when 'increased' then classified.amount_end - classified.amount_start
            when 'decreased' then classified.amount_start - classified.amount_end
            when 'unchanged' then classified.amount_end
            when 'created' then classified.amount_end
            when 'pulled_in' then classified.amount_end
            else classified.amount_start
        end as amount,
        classified.owner_id,
        coalesce(users.team, 'Unassigned') as team,
        classified.snapshot_stage_name_start as stage_name_start,
        case
            when classified.is_open_at_end then classified.snapshot_stage_name_end
            else classified.stage_name_now
        end as stage_name_end,
        classified.snapshot_close_date_start as close_date_start,
        case
            when classified.is_open_at_end then classified.snapshot_close_date_end
            else classified.close_date_now
        end as close_date_end
    from classified
    left join users
        on classified.owner_id = users.user_id

)

select * from final
