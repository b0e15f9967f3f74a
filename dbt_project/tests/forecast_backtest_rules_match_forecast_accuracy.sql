-- forecast_backtest's 'rules' rows are forecast_accuracy's call (DESIGN.md "Forecast
-- backtest": the rules' call is the one revops_health's forecast variance reports): for
-- every owner and company row of forecast_accuracy, the rules row with the same period
-- and rollup has the same forecast_amount and actual_amount (within a relative 1e-9, as
-- sums of doubles depend on their order), and no rules row is missing.
-- Returns the rows that differ.

with

accuracy as (

    select * from {{ ref('forecast_accuracy') }}

),

backtest as (

    select * from {{ ref('forecast_backtest') }}
    where method = 'rules'

),

compared as (

    select
        accuracy.period_type,
        accuracy.period_start,
        accuracy.rollup_level,
        accuracy.owner_id,
        accuracy.forecast_amount as accuracy_forecast_amount,
        backtest.forecast_amount as backtest_forecast_amount,
        accuracy.actual_amount as accuracy_actual_amount,
        backtest.actual_amount as backtest_actual_amount,
        backtest.period_start is not null as has_backtest_row
    from accuracy
    left join backtest
        on accuracy.period_type = backtest.period_type
            and accuracy.period_start = backtest.period_start
            and accuracy.rollup_level = backtest.rollup_level
            and (
                accuracy.owner_id = backtest.owner_id
                or (accuracy.owner_id is null and backtest.owner_id is null)
            )

)

select *
from compared
where
    not has_backtest_row
    or (accuracy_forecast_amount is null) <> (backtest_forecast_amount is null)
    or abs(accuracy_forecast_amount - backtest_forecast_amount)
    > 1e-9 * (1 + abs(accuracy_forecast_amount))
    or abs(accuracy_actual_amount - backtest_actual_amount)
    > 1e-9 * (1 + abs(accuracy_actual_amount))
