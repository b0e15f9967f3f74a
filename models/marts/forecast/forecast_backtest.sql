-- How good would each call have been? For every closed month and quarter (those of
-- forecast_accuracy) and each method, the call as of the period's first day against
-- closed won at its end (DESIGN.md "Forecast backtest"), per owner, team and company:
--   * rules: closed won + committed + best case x best_case_weight - forecast_accuracy's
--     forecast_amount;
--   * calibrated: closed won + committed_rate x committed + best_case_rate x best case,
--     with the company-wide rates int_calibrated_call_rates learned as of that first day
--     from the periods that ended before it (rate_use 'backtest', day offset 0).
-- variance_rate = (forecast - actual) / actual, NULL when actual is 0. mape and bias:
-- mean |variance_rate| and mean variance_rate over the rows of the same period type,
-- method and rollup whose period is one of the last forecast_backtest_periods (12)
-- closed periods of that type (is_in_error_window) and whose variance_rate is known.

with

accuracy as (

    select * from {{ ref('forecast_accuracy') }}

),

rates as (

    select * from {{ ref('int_calibrated_call_rates') }}

),

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

owner_periods as (

    select
        accuracy.period_type,
        accuracy.period_start,
        accuracy.period_end,
        accuracy.forecast_basis,
        accuracy.owner_id,
        coalesce(users.team, 'Unassigned') as team,
        accuracy.closed_won_at_start_amount,
        accuracy.committed_amount,
        accuracy.best_case_amount,
        accuracy.actual_amount,
        -- the pipeline of a past first day needs the history (forecast_accuracy says why not)
        case when accuracy.unknown_reason is null then 1 else 0 end as is_known
    from accuracy
    left join users
        on accuracy.owner_id = users.user_id
    where accuracy.rollup_level = 'owner'

),

rolled_up as (

    {{ owner_team_company_rollup(
        'owner_periods',
        dimensions=['period_type', 'period_start', 'period_end', 'forecast_basis'],
        measures={
            'closed_won_at_start_amount': 'sum(closed_won_at_start_amount)',
            'committed_amount': 'sum(committed_amount)',
            'best_case_amount': 'sum(best_case_amount)',
            'actual_amount': 'sum(actual_amount)',
            'is_known': 'min(is_known)',
        },
    ) }}

),

methods as (

    select
        'rules' as method,  -- noqa: RF04
        rolled_up.*,
        cast(1.0 as {{ type_double() }}) as committed_rate,
        cast({{ var('best_case_weight') }} as {{ type_double() }}) as best_case_rate,
        'rules_weight' as committed_rate_basis,
        'rules_weight' as best_case_rate_basis
    from rolled_up
    union all
    select
        'calibrated' as method,  -- noqa: RF04
        rolled_up.*,
        rates.committed_rate,
        rates.best_case_rate,
        rates.committed_rate_basis,
        rates.best_case_rate_basis
    from rolled_up
    left join rates
        on rates.rate_use = 'backtest'
            and rolled_up.period_type = rates.period_type
            and rolled_up.period_start = rates.period_start

),

called as (

    select
        *,
        case
            when is_known = 1
                then closed_won_at_start_amount + committed_amount * committed_rate
                + best_case_amount * best_case_rate
        end as forecast_amount
    from methods

),

varied as (

    select
        *,
        case
            when forecast_amount is not null and actual_amount <> 0
                then (forecast_amount - actual_amount) / actual_amount
        end as variance_rate
    from called

),

period_ranks as (

    -- the closed periods of each type, latest first
    select
        period_type,
        period_start,
        row_number() over (partition by period_type order by period_start desc) as recency_rank
    from (select distinct period_type, period_start from accuracy) as closed_periods

),

windowed as (

    select
        varied.*,
        period_ranks.recency_rank <= {{ var('forecast_backtest_periods') }} as is_in_error_window
    from varied
    inner join period_ranks
        on varied.period_type = period_ranks.period_type
            and varied.period_start = period_ranks.period_start

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(period_type as {{ type_varchar() }}) as period_type,
        period_start,
        period_end,
        cast(method as {{ type_varchar() }}) as method,  -- noqa: RF04
        cast(rollup_level as {{ type_varchar() }}) as rollup_level,
        cast(owner_id as {{ type_varchar() }}) as owner_id,
        cast(team as {{ type_varchar() }}) as team,
        cast(forecast_basis as {{ type_varchar() }}) as forecast_basis,
        cast(closed_won_at_start_amount as {{ type_double() }}) as closed_won_at_start_amount,
        cast(committed_amount as {{ type_double() }}) as committed_amount,
        cast(best_case_amount as {{ type_double() }}) as best_case_amount,
        cast(committed_rate as {{ type_double() }}) as committed_rate,
        cast(best_case_rate as {{ type_double() }}) as best_case_rate,
        cast(committed_rate_basis as {{ type_varchar() }}) as committed_rate_basis,
        cast(best_case_rate_basis as {{ type_varchar() }}) as best_case_rate_basis,
        cast(forecast_amount as {{ type_double() }}) as forecast_amount,
        cast(actual_amount as {{ type_double() }}) as actual_amount,
        cast(variance_rate as {{ type_double() }}) as variance_rate,
        is_in_error_window,
        cast(
            sum(case when is_in_error_window and variance_rate is not null then 1 else 0 end)
                over (partition by period_type, method, rollup_level, owner_id, team)
            as integer
        ) as error_period_count,
        cast(
            avg(case when is_in_error_window then abs(variance_rate) end)
                over (partition by period_type, method, rollup_level, owner_id, team)
            as {{ type_double() }}
        ) as mape,
        cast(
            avg(case when is_in_error_window then variance_rate end)
                over (partition by period_type, method, rollup_level, owner_id, team)
            as {{ type_double() }}
        ) as bias,
        cast(
            case when is_known = 0 then 'opportunity history not tracked in the CRM' end
            as {{ type_varchar() }}
        ) as unknown_reason
    from windowed

)

select * from final
