-- The Monday pipeline review: on as_of_date, per owner, per team and for the company,
-- how many open deals there are and how many break each hygiene rule. Every count is
-- a count of deal_risk flags, so the review and the risk scores never disagree.
-- Owner and team rows exist where deals are open; the company row always exists.
-- A count whose flag the CRM cannot tell (next steps, activity not tracked) is NULL.

with

risk as (

    select * from {{ ref('deal_risk') }}

),

reps as (

    select * from {{ ref('dim_reps') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

open_deals as (

    select
        risk.opportunity_id,
        risk.owner_id,
        reps.team,
        risk.amount,
        risk.has_next_step,
        risk.is_close_date_past,
        risk.is_stalled,
        risk.is_floating,
        risk.is_inactive
    from risk
    left join reps
        on risk.owner_id = reps.owner_id

),

rollups as (

-- the company row has no group by: it exists even when nothing is open
    {{ owner_team_company_rollup(
        'open_deals',
        measures={
            'open_deal_count': 'count(*)',
            'open_amount': 'sum(amount)',
            'next_step_count': 'sum(case when has_next_step then 1 else 0 end)',
            'close_date_past_count': 'sum(case when is_close_date_past then 1 else 0 end)',
            'stalled_count': 'sum(case when is_stalled then 1 else 0 end)',
            'floating_count': 'sum(case when is_floating then 1 else 0 end)',
            'inactive_count': 'sum(case when is_inactive then 1 else 0 end)',
        },
    ) }}

),

with_tracking as (

    select
        rollups.*,
        tracking.is_next_step_tracked,
        tracking.is_activity_tracked
    from rollups
    cross join tracking

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        rollup_level,
        owner_id,
        team,
        cast(open_deal_count as integer) as open_deal_count,
        cast(coalesce(open_amount, 0) as {{ type_double() }}) as open_amount,
        cast(case when is_next_step_tracked then coalesce(next_step_count, 0) end as integer)
            as next_step_count,
        -- share of open deals with a next step; null when nothing is open (no deals to judge)
        cast(
            case
                when is_next_step_tracked and open_deal_count > 0
                    then coalesce(next_step_count, 0) * 1.0 / open_deal_count
            end as {{ type_double() }}
        ) as next_step_rate,
        cast(
            case when is_next_step_tracked then open_deal_count - coalesce(next_step_count, 0) end
            as integer
        ) as no_next_step_count,
        cast(coalesce(close_date_past_count, 0) as integer) as close_date_past_count,
        cast(coalesce(stalled_count, 0) as integer) as stalled_count,
        cast(
            case when is_activity_tracked and is_next_step_tracked then coalesce(floating_count, 0) end
            as integer
        ) as floating_count,
        cast(case when is_activity_tracked then coalesce(inactive_count, 0) end as integer)
            as inactive_count
    from with_tracking

)

select * from final
