-- Are we on pace? One row per rollup (owner, team, company) x period to date (MTD, QTD,
-- YTD): closed won against the period's target, the share of the target expected by
-- now (elapsed business days / business days in the period), pacing and the projected
-- finish (closed + committed + best case weighted; slipped deals are in no bucket).
-- pace_status grades pacing (too_early while fewer than run_rate_min_elapsed_business_days
-- have elapsed); projected_status grades projected / target with the same bands.

with

owner_buckets as (

    select * from {{ ref('int_owner_buckets_summed') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

owner_rows as (

    select
        case period_type
            when 'month' then 'MTD'
            when 'quarter' then 'QTD'
            when 'year' then 'YTD'
        end as period,
        period_start,
        period_end,
        'owner' as rollup_level,
        owner_id,
        team,
        target_amount,
        closed_won_amount,
        committed_amount,
        best_case_weighted_amount
    from owner_buckets
    where period_offset = 'current'

),

unioned as (

    select * from owner_rows
    union all
    {{ owner_team_company_rollup(
        'owner_rows',
        dimensions=['period', 'period_start', 'period_end'],
        measures=['target_amount', 'closed_won_amount', 'committed_amount', 'best_case_weighted_amount'],
        levels=['team', 'company'],
    ) }}

),

elapsed as (

    select
        unioned.*,
        as_of_day.business_day_index - before_start.business_day_index as elapsed_business_days,
        period_end_day.business_day_index - before_start.business_day_index as period_business_days
    from unioned
    inner join calendar as before_start
        on before_start.calendar_date = {{ dbt.dateadd('day', -1, 'unioned.period_start') }}
    inner join calendar as period_end_day
        on period_end_day.calendar_date = unioned.period_end
    inner join calendar as as_of_day
        on as_of_day.calendar_date = {{ as_of_date() }}

),

paced as (

    select
        *,
        case
            when period_business_days > 0
                then cast(elapsed_business_days as {{ type_double() }}) / period_business_days
        end as expected_share,
        closed_won_amount + committed_amount + best_case_weighted_amount as projected_amount
    from elapsed

),

graded as (

    select
        *,
        case
            when target_amount is null or target_amount <= 0 then 'no_target'
            when
                elapsed_business_days < {{ var('run_rate_min_elapsed_business_days') }}
                or expected_share is null
                or expected_share = 0
                then 'too_early'
            when closed_won_amount / (target_amount * expected_share) >= {{ var('run_rate_on_track_pacing') }}
                then 'on_track'
            when closed_won_amount / (target_amount * expected_share) >= {{ var('run_rate_at_risk_pacing') }}
                then 'at_risk'
            else 'behind'
        end as pace_status,
        case
            when target_amount is null or target_amount <= 0 then 'no_target'
            when projected_amount / target_amount >= {{ var('run_rate_on_track_pacing') }} then 'will_hit'
            when projected_amount / target_amount >= {{ var('run_rate_at_risk_pacing') }} then 'at_risk'
            else 'will_miss'
        end as projected_status
    from paced

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        rollup_level,
        owner_id,
        team,
        period,
        period_start,
        period_end,
        cast(target_amount as {{ type_double() }}) as target_amount,
        cast(closed_won_amount as {{ type_double() }}) as closed_won_amount,
        cast(committed_amount as {{ type_double() }}) as committed_amount,
        cast(best_case_weighted_amount as {{ type_double() }}) as best_case_weighted_amount,
        cast(elapsed_business_days as integer) as elapsed_business_days,
        cast(period_business_days as integer) as period_business_days,
        cast(expected_share as {{ type_double() }}) as expected_share,
        cast(
            case
                when target_amount * expected_share > 0
                    then closed_won_amount / (target_amount * expected_share)
            end
            as {{ type_double() }}
        ) as pacing_rate,
        cast(projected_amount as {{ type_double() }}) as projected_amount,
        cast(
            case when target_amount > 0 then projected_amount / target_amount end
            as {{ type_double() }}
        ) as projected_attainment_rate,
        -- the key column status is the pace status
        pace_status as status,
        pace_status,
        projected_status
    from graded

)

select * from final
