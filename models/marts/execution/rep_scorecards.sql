-- Where does performance diverge? One row per owner x quarter (the current quarter and
-- the rep_scorecard_quarters - 1 before it): win rates overall, inbound vs outbound and
-- ICP vs non-ICP with their counts, sales cycle against the team, ICP share of the
-- open pipeline at the quarter's end (or as_of_date), hygiene and attainment. What the
-- CRM does not track is NULL: the ICP figures without ICP criteria, the next-step rate
-- without next steps, target and attainment without quotas (target_status no_target).

with

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

icp as (

    select * from {{ ref('icp_fit') }}

),

risk as (

    select * from {{ ref('deal_risk') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}

),

quotas as (

    select * from {{ ref('stg_salesforce__forecasting_quotas') }}

),

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

quarter_numbers as (

    {{ dbt.generate_series(var('rep_scorecard_quarters')) }}

),

quarters as (

    select
        cast(
            {{ dbt.dateadd(
                'month',
                '-3 * (generated_number - 1)',
                dbt.date_trunc('quarter', as_of_date())
            ) }}
            as date
        ) as quarter_start
    from quarter_numbers

),

quarter_bounds as (

    select
        quarter_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'quarter_start')) }} as date)
            as quarter_end,
        case
            when cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'quarter_start')) }} as date)
                < {{ as_of_date() }}
                then cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'quarter_start')) }} as date)
            else {{ as_of_date() }}
        end as measured_on_date
    from quarters

),

closed_deals as (

    select
        quarter_bounds.quarter_start,
        deals.opportunity_id,
        deals.owner_id,
        deals.is_won_stage as is_won,
        coalesce(deals.amount, 0) as amount,
        coalesce(icp.is_icp, false) as is_icp,
        deals.lead_source in {{ sql_literal_list(var('inbound_lead_sources')) }} as is_inbound,
        {{ days_between('deals.created_date', 'deals.close_date') }} as cycle_days
    from deals
    inner join quarter_bounds
        on deals.close_date >= quarter_bounds.quarter_start
            and deals.close_date <= quarter_bounds.measured_on_date
    left join icp
        on deals.opportunity_id = icp.opportunity_id
    where deals.is_closed_stage

),

owner_closed as (

    select
        quarter_start,
        owner_id,
        count(*) as closed_count,
        sum(case when is_won then 1 else 0 end) as won_count,
        sum(case when is_won then amount else 0 end) as won_amount,
        sum(amount) as closed_amount,
        sum(case when is_inbound then 1 else 0 end) as inbound_closed_count,
        sum(case when is_inbound and is_won then 1 else 0 end) as inbound_won_count,
        sum(case when not is_inbound then 1 else 0 end) as outbound_closed_count,
        sum(case when not is_inbound and is_won then 1 else 0 end) as outbound_won_count,
        sum(case when is_icp then 1 else 0 end) as icp_closed_count,
        sum(case when is_icp and is_won then 1 else 0 end) as icp_won_count,
        sum(case when not is_icp then 1 else 0 end) as non_icp_closed_count,
        sum(case when not is_icp and is_won then 1 else 0 end) as non_icp_won_count
    from closed_deals
    group by 1, 2

),

owner_cycle as (

    select
        quarter_start,
        owner_id,
        {{ median('cycle_days') }} as median_cycle_days
    from closed_deals
    where is_won
    group by 1, 2

),

team_cycle as (

    select
        closed_deals.quarter_start,
        coalesce(users.team, 'Unassigned') as team,
        {{ median('closed_deals.cycle_days') }} as team_median_cycle_days
    from closed_deals
    left join users
        on closed_deals.owner_id = users.user_id
    where closed_deals.is_won
    group by 1, 2

),

quarter_pipeline as (

    select
        quarter_bounds.quarter_start,
        snapshots.owner_id,
        sum(coalesce(snapshots.amount, 0)) as open_amount,
        sum(case when icp.is_icp then coalesce(snapshots.amount, 0) else 0 end) as icp_open_amount
    from quarter_bounds
    inner join snapshots
        on snapshots.snapshot_date = quarter_bounds.measured_on_date
    left join icp
        on snapshots.opportunity_id = icp.opportunity_id
    group by 1, 2

),

current_hygiene as (

    select
        owner_id,
        count(*) as open_deal_count,
        sum(case when has_next_step then 1 else 0 end) as next_step_count,
        sum(case when risk_level = 'high' then 1 else 0 end) as high_risk_count
    from risk
    group by 1

),

quarter_targets as (

    select
        quarter_bounds.quarter_start,
        quotas.owner_id,
        sum(quotas.quota_amount) as target_amount
    from quarter_bounds
    inner join quotas
        on quotas.start_date >= quarter_bounds.quarter_start
            and quotas.start_date <= quarter_bounds.quarter_end
    group by 1, 2

),

owner_quarters as (

    select quarter_start, owner_id from owner_closed
    union
    select quarter_start, owner_id from quarter_pipeline
    union
    select quarter_start, owner_id from quarter_targets

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        owner_quarters.owner_id,
        owner_quarters.quarter_start,
        quarter_bounds.quarter_end,
        coalesce(users.team, 'Unassigned') as team,
        cast(coalesce(owner_closed.closed_count, 0) as integer) as closed_count,
        cast(coalesce(owner_closed.won_count, 0) as integer) as won_count,
        cast(coalesce(owner_closed.closed_count, 0) - coalesce(owner_closed.won_count, 0) as integer)
            as lost_count,
        cast(
            case
                when owner_closed.closed_count > 0
                    then cast(owner_closed.won_count as {{ type_double() }}) / owner_closed.closed_count
            end as {{ type_double() }}
        ) as win_rate,
        cast(
            case
                when owner_closed.closed_amount > 0
                    then owner_closed.won_amount / owner_closed.closed_amount
            end as {{ type_double() }}
        ) as win_rate_by_amount,
        cast(coalesce(owner_closed.inbound_closed_count, 0) as integer) as inbound_closed_count,
        cast(
            case
                when owner_closed.inbound_closed_count > 0
                    then cast(owner_closed.inbound_won_count as {{ type_double() }}) / owner_closed.inbound_closed_count
            end as {{ type_double() }}
        ) as inbound_win_rate,
        cast(coalesce(owner_closed.outbound_closed_count, 0) as integer) as outbound_closed_count,
        cast(
            case
                when owner_closed.outbound_closed_count > 0
                    then cast(owner_closed.outbound_won_count as {{ type_double() }})
                    / owner_closed.outbound_closed_count
            end as {{ type_double() }}
        ) as outbound_win_rate,
        cast(
            case when tracking.icp_tracked_criteria_count > 0 then coalesce(owner_closed.icp_closed_count, 0) end
            as integer
        ) as icp_closed_count,
        cast(
            case
                when tracking.icp_tracked_criteria_count > 0 and owner_closed.icp_closed_count > 0
                    then cast(owner_closed.icp_won_count as {{ type_double() }}) / owner_closed.icp_closed_count
            end as {{ type_double() }}
        ) as icp_win_rate,
        cast(
            case when tracking.icp_tracked_criteria_count > 0 then coalesce(owner_closed.non_icp_closed_count, 0) end
            as integer
        ) as non_icp_closed_count,
        cast(
            case
                when tracking.icp_tracked_criteria_count > 0 and owner_closed.non_icp_closed_count > 0
                    then cast(owner_closed.non_icp_won_count as {{ type_double() }}) / owner_closed.non_icp_closed_count
            end as {{ type_double() }}
        ) as non_icp_win_rate,
        cast(owner_cycle.median_cycle_days as {{ type_double() }}) as median_cycle_days,
        cast(team_cycle.team_median_cycle_days as {{ type_double() }}) as team_median_cycle_days,
        cast(
            case
                when tracking.icp_tracked_criteria_count > 0 and quarter_pipeline.open_amount > 0
                    then quarter_pipeline.icp_open_amount / quarter_pipeline.open_amount
            end as {{ type_double() }}
        ) as icp_pipeline_share_rate,
        -- hygiene is only known for today: filled on the current quarter's row
        cast(
            case
                when
                    quarter_bounds.measured_on_date = {{ as_of_date() }}
                    and tracking.is_next_step_tracked
                    and current_hygiene.open_deal_count > 0
                    then cast(current_hygiene.next_step_count as {{ type_double() }}) / current_hygiene.open_deal_count
            end as {{ type_double() }}
        ) as next_step_rate,
        cast(
            case
                when quarter_bounds.measured_on_date = {{ as_of_date() }}
                    then coalesce(current_hygiene.high_risk_count, 0)
            end as integer
        ) as high_risk_deal_count,
        cast(quarter_targets.target_amount as {{ type_double() }}) as target_amount,
        cast(coalesce(owner_closed.won_amount, 0) as {{ type_double() }}) as closed_won_amount,
        cast(
            case
                when quarter_targets.target_amount > 0
                    then coalesce(owner_closed.won_amount, 0) / quarter_targets.target_amount
            end as {{ type_double() }}
        ) as attainment_rate,
        cast(
            case
                when quarter_targets.target_amount is null or quarter_targets.target_amount <= 0 then 'no_target'
                else 'has_target'
            end as {{ type_varchar() }}
        ) as target_status
    from owner_quarters
    inner join quarter_bounds
        on owner_quarters.quarter_start = quarter_bounds.quarter_start
    left join users
        on owner_quarters.owner_id = users.user_id
    left join owner_closed
        on owner_quarters.quarter_start = owner_closed.quarter_start
            and owner_quarters.owner_id = owner_closed.owner_id
    left join owner_cycle
        on owner_quarters.quarter_start = owner_cycle.quarter_start
            and owner_quarters.owner_id = owner_cycle.owner_id
    left join team_cycle
        on owner_quarters.quarter_start = team_cycle.quarter_start
            and coalesce(users.team, 'Unassigned') = team_cycle.team
    left join quarter_pipeline
        on owner_quarters.quarter_start = quarter_pipeline.quarter_start
            and owner_quarters.owner_id = quarter_pipeline.owner_id
    left join current_hygiene
        on owner_quarters.owner_id = current_hygiene.owner_id
    left join quarter_targets
        on owner_quarters.quarter_start = quarter_targets.quarter_start
            and owner_quarters.owner_id = quarter_targets.owner_id
    cross join tracking

)

select * from final
