-- Will we hit the number? One row per period (current and next month and quarter) x
-- owner, with team and company roll-ups that add up exactly: target, closed won,
-- committed, best case (face value and weighted), slipped (open deals whose close date
-- in the period has passed: in no bucket and not in the pipeline or coverage), open and
-- weighted pipeline, coverage, the call and gap to target (DESIGN.md "Forecast buckets").

with

owner_buckets as (

    select * from {{ ref('int_owner_buckets_summed') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

owner_rows as (

    select
        period_type,
        period_start,
        period_end,
        period_offset,
        'owner' as rollup_level,
        owner_id,
        team,
        target_amount,
        closed_won_amount,
        committed_amount,
        best_case_amount,
        best_case_weighted_amount,
        slipped_amount,
        slipped_count,
        open_pipeline_amount,
        weighted_pipeline_amount,
        open_deal_count
    from owner_buckets
    where period_type in ('month', 'quarter')

),

unioned as (

    select * from owner_rows
    union all
    {{ owner_team_company_rollup(
        'owner_rows',
        dimensions=['period_type', 'period_start', 'period_end', 'period_offset'],
        measures=[
            'target_amount',
            'closed_won_amount',
            'committed_amount',
            'best_case_amount',
            'best_case_weighted_amount',
            'slipped_amount',
            'slipped_count',
            'open_pipeline_amount',
            'weighted_pipeline_amount',
            'open_deal_count',
        ],
        levels=['team', 'company'],
    ) }}

),

with_tracking as (

    select
        unioned.*,
        tracking.is_next_step_tracked,
        tracking.is_next_step_date_tracked
    from unioned
    cross join tracking

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        period_type,
        period_start,
        period_end,
        period_offset,
        rollup_level,
        owner_id,
        team,
        cast(target_amount as {{ type_double() }}) as target_amount,
        cast(closed_won_amount as {{ type_double() }}) as closed_won_amount,
        cast(committed_amount as {{ type_double() }}) as committed_amount,
        cast(best_case_amount as {{ type_double() }}) as best_case_amount,
        cast(best_case_weighted_amount as {{ type_double() }}) as best_case_weighted_amount,
        cast(slipped_amount as {{ type_double() }}) as slipped_amount,
        cast(slipped_count as integer) as slipped_count,
        cast(open_pipeline_amount as {{ type_double() }}) as open_pipeline_amount,
        cast(weighted_pipeline_amount as {{ type_double() }}) as weighted_pipeline_amount,
        cast(closed_won_amount + committed_amount + best_case_weighted_amount as {{ type_double() }})
            as call_amount,
        cast(target_amount - closed_won_amount as {{ type_double() }}) as gap_to_target_amount,
        cast(
            case when target_amount > 0 then open_pipeline_amount / target_amount end
            as {{ type_double() }}
        ) as coverage_ratio,
        cast(
            case
                when target_amount - closed_won_amount > 0
                    then open_pipeline_amount / (target_amount - closed_won_amount)
            end
            as {{ type_double() }}
        ) as remaining_coverage_ratio,
        cast(open_deal_count as integer) as open_deal_count,
        cast(
            case
                when target_amount is null or target_amount <= 0 then 'no_target'
                else 'has_target'
            end as {{ type_varchar() }}
        ) as target_status,
        cast(
            case
                when is_next_step_tracked and is_next_step_date_tracked then 'next_step'
                else 'forecast_category'
            end as {{ type_varchar() }}
        ) as committed_basis
    from with_tracking

)

-- the calibrated call (DESIGN.md "Calibrated call"): closed won + the team's own rates
-- (int_calibrated_call_rates, company-wide) x committed and best case at face value
select
    final.*,
    cast(
        final.closed_won_amount
        + calibrated_rates.committed_rate * final.committed_amount
        + calibrated_rates.best_case_rate * final.best_case_amount
        as {{ type_double() }}
    ) as calibrated_call_amount
from final
left join {{ ref('int_calibrated_call_rates') }} as calibrated_rates
    on calibrated_rates.rate_use = 'forecast'
        and final.period_type = calibrated_rates.period_type
        and final.period_start = calibrated_rates.period_start
