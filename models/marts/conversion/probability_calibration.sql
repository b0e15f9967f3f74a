-- DESIGN.md "Probability calibration": how close the stage probabilities came to what
-- happened, backtested. The month starts d in (as_of_date - N months, as_of_date]
-- (N = var probability_calibration_months, 12); on each, the deals open that day
-- (fct_deal_snapshots) whose stage on as_of_date is closed (won: y = 1, lost: y = 0), each
-- with two predictions:
--   'calibrated': the calibrated probability of its stage on d, from the deals closed
--     before d only (int_stage_conversions_daily as of d - 1, segment 'all'; the stage
--     map's default when no deal had closed by then);
--   'crm': the CRM's own probability field on d (0-1), from the latest history row
--     created on or before d (the current value when there is none); a deal whose value
--     is blank counts for 'calibrated' only.
-- Per stage on d and 'all' x source x bin (tenths [0, 0.1) ... [0.9, 1.0], and 'all'):
-- deal_count, mean_predicted, observed_rate, brier_score = mean (p - y)^2 and
-- brier_skill_score = 1 - Brier / Brier of predicting, for every deal, the win rate of
-- the deals closed in the window before its d ([d - W, d - 1], W = var
-- probability_calibration_base_rate_days, 90). A deal open on several month starts
-- counts once per month start. status 'unknown' with a reason where there is nothing to
-- measure: the CRM probability not tracked (source_coverage), no opportunity history,
-- no deals.

{%- set months = var('probability_calibration_months') %}
{%- set base_rate_days = var('probability_calibration_base_rate_days') %}

with

snapshots as (

    select * from {{ ref('fct_deal_snapshots') }}

),

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

daily_rates as (

    select * from {{ ref('int_stage_conversions_daily') }}

),

history as (

    select * from {{ ref('stg_salesforce__opportunity_history') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

month_starts as (

    select
        calendar_date as month_start,
        cast({{ dbt.dateadd('day', -1, 'calendar_date') }} as date) as rates_as_of_day
    from calendar
    where
        calendar_date = cast({{ dbt.date_trunc('month', 'calendar_date') }} as date)
        and calendar_date > cast({{ dbt.dateadd('month', -1 * months, as_of_date()) }} as date)
        and calendar_date <= {{ as_of_date() }}

),

closed_deals as (

    select
        opportunity_id,
        close_date,
        case when coalesce(is_won_stage, false) then 1 else 0 end as outcome
    from deals
    where coalesce(is_closed_stage, false)

),

base_rates as (

    -- the win rate of the deals closed in [d - W, d - 1]: the reference forecast
    select
        month_starts.month_start,
        count(closed_deals.opportunity_id) as base_deal_count,
        case
            when count(closed_deals.opportunity_id) > 0
                then cast(sum(closed_deals.outcome) as {{ type_double() }}) / count(closed_deals.opportunity_id)
        end as base_rate
    from month_starts
    left join closed_deals
        on
            closed_deals.close_date
            >= cast({{ dbt.dateadd('day', -1 * base_rate_days, 'month_starts.month_start') }} as date)
            and closed_deals.close_date < month_starts.month_start
    group by month_starts.month_start

),

deals_on_month_starts as (

    -- open on d, closed by as_of_date
    select
        month_starts.month_start,
        month_starts.rates_as_of_day,
        snapshots.opportunity_id,
        snapshots.stage_name,
        closed_deals.outcome
    from month_starts
    inner join snapshots
        on month_starts.month_start = snapshots.snapshot_date
    inner join closed_deals
        on snapshots.opportunity_id = closed_deals.opportunity_id

),

history_on_month_starts as (

    -- the latest history row created on or before d
    select
        deals_on_month_starts.month_start,
        deals_on_month_starts.opportunity_id,
        history.crm_probability_rate,
        row_number() over (
            partition by deals_on_month_starts.month_start, deals_on_month_starts.opportunity_id
            order by history.created_at desc, history.opportunity_history_id desc
        ) as recency
    from deals_on_month_starts
    inner join history
        on
            deals_on_month_starts.opportunity_id = history.opportunity_id
            and history.created_date <= deals_on_month_starts.month_start

),

predictions as (

    select
        deals_on_month_starts.month_start,
        deals_on_month_starts.opportunity_id,
        deals_on_month_starts.stage_name,
        deals_on_month_starts.outcome,
        base_rates.base_rate,
        coalesce(
            daily_rates.calibrated_probability,
            cast(stage_map.default_probability as {{ type_double() }})
        ) as calibrated_probability,
        case
            when history_on_month_starts.opportunity_id is not null then history_on_month_starts.crm_probability_rate
            else opportunities.crm_probability_rate
        end as crm_probability
    from deals_on_month_starts
    inner join base_rates
        on deals_on_month_starts.month_start = base_rates.month_start
    left join daily_rates
        on
            deals_on_month_starts.rates_as_of_day = daily_rates.as_of_day
            and deals_on_month_starts.stage_name = daily_rates.stage_name
            and daily_rates.segment = 'all'
    left join stage_map
        on deals_on_month_starts.stage_name = stage_map.stage_name
    left join history_on_month_starts
        on
            deals_on_month_starts.month_start = history_on_month_starts.month_start
            and deals_on_month_starts.opportunity_id = history_on_month_starts.opportunity_id
            and history_on_month_starts.recency = 1
    left join opportunities
        on deals_on_month_starts.opportunity_id = opportunities.opportunity_id

),

by_source as (

    select
        month_start,
        opportunity_id,
        stage_name,
        outcome,
        base_rate,
        'calibrated' as probability_source,
        calibrated_probability as predicted
    from predictions
    union all
    select
        predictions.month_start,
        predictions.opportunity_id,
        predictions.stage_name,
        predictions.outcome,
        predictions.base_rate,
        'crm' as probability_source,
        case
            when predictions.crm_probability > 1.0 then 1.0
            when predictions.crm_probability < 0.0 then 0.0
            else predictions.crm_probability
        end
    from predictions
    cross join tracking
    where tracking.is_crm_probability_tracked and predictions.crm_probability is not null

),

binned as (

    select
        *,
        case
            when predicted >= 0.9 then 9
            else cast(floor(predicted * 10) as integer)
        end as bin_index
    from by_source

),

stage_and_all as (

    select
        stage_name,
        probability_source,
        bin_index,
        predicted,
        outcome,
        base_rate
    from binned
    union all
    select
        'all' as stage_name,
        probability_source,
        bin_index,
        predicted,
        outcome,
        base_rate
    from binned

),

measured as (

    -- every stage x source twice: per bin and over all bins (bin_index -1)
    select
        stage_name,
        probability_source,
        bin_index,
        count(*) as deal_count,
        sum(outcome) as won_count,
        avg(predicted) as mean_predicted,
        avg(cast(outcome as {{ type_double() }})) as observed_rate,
        avg((predicted - outcome) * (predicted - outcome)) as brier_score,
        avg((base_rate - outcome) * (base_rate - outcome)) as reference_brier_score,
        sum(case when base_rate is null then 1 else 0 end) as no_base_rate_count
    from stage_and_all
    group by stage_name, probability_source, bin_index
    union all
    select
        stage_name,
        probability_source,
        -1 as bin_index,
        count(*),
        sum(outcome),
        avg(predicted),
        avg(cast(outcome as {{ type_double() }})),
        avg((predicted - outcome) * (predicted - outcome)),
        avg((base_rate - outcome) * (base_rate - outcome)),
        sum(case when base_rate is null then 1 else 0 end)
    from stage_and_all
    group by stage_name, probability_source

),

stages as (

    select stage_name, stage_order from stage_map
    where not is_closed
    union all
    select 'all' as stage_name, cast(null as integer) as stage_order

),

sources as (

    select 'calibrated' as probability_source
    union all
    select 'crm' as probability_source

),

window_bounds as (

    select
        min(month_start) as first_month_start,
        max(month_start) as last_month_start
    from month_starts

),

summary_and_bins as (

    -- a summary row (bin_index -1) for every stage x source, with or without deals; a bin
    -- row for every bin that holds deals
    select
        stages.stage_name,
        stages.stage_order,
        sources.probability_source,
        -1 as bin_index
    from stages
    cross join sources
    union all
    select
        stages.stage_name,
        stages.stage_order,
        measured.probability_source,
        measured.bin_index
    from measured
    inner join stages
        on measured.stage_name = stages.stage_name
    where measured.bin_index >= 0

),

grid as (

    select
        summary_and_bins.stage_name,
        summary_and_bins.stage_order,
        summary_and_bins.probability_source,
        summary_and_bins.bin_index,
        measured.deal_count,
        measured.won_count,
        measured.mean_predicted,
        measured.observed_rate,
        measured.brier_score,
        measured.reference_brier_score,
        measured.no_base_rate_count,
        (summary_and_bins.probability_source = 'crm' and not tracking.is_crm_probability_tracked)
        or not tracking.is_history_tracked as is_untracked,
        case
            when summary_and_bins.probability_source = 'crm' and not tracking.is_crm_probability_tracked
                then 'the CRM probability field is not tracked in this CRM (source_coverage)'
            when not tracking.is_history_tracked
                then 'opportunity history is not tracked: no past stages to backtest'
            when measured.deal_count is null
                then 'no deal open on these month starts has closed since'
        end as unknown_reason
    from summary_and_bins
    cross join tracking
    left join measured
        on
            summary_and_bins.stage_name = measured.stage_name
            and summary_and_bins.probability_source = measured.probability_source
            and summary_and_bins.bin_index = measured.bin_index

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(grid.stage_name as {{ type_varchar() }}) as stage_name,
        cast(grid.stage_order as integer) as stage_order,
        cast(grid.probability_source as {{ type_varchar() }}) as probability_source,
        cast(
            case grid.bin_index
                when -1 then 'all'
                {%- for index in range(10) %}
                    when {{ index }} then '{{ "%.1f-%.1f" | format(index / 10, (index + 1) / 10) }}'
                {%- endfor %}
            end as {{ type_varchar() }}
        ) as bin,
        case when grid.bin_index >= 0 then cast(grid.bin_index as {{ type_double() }}) / 10 end as bin_lower,
        case when grid.bin_index >= 0 then cast(grid.bin_index + 1 as {{ type_double() }}) / 10 end as bin_upper,
        -- unknown (null) where the input is not tracked; 0 where nothing closed
        cast(case when not grid.is_untracked then coalesce(grid.deal_count, 0) end as integer) as deal_count,
        cast(case when grid.unknown_reason is null then grid.won_count end as integer) as won_count,
        cast(case when grid.unknown_reason is null then grid.mean_predicted end as {{ type_double() }})
            as mean_predicted,
        cast(case when grid.unknown_reason is null then grid.observed_rate end as {{ type_double() }}) as observed_rate,
        cast(case when grid.unknown_reason is null then grid.brier_score end as {{ type_double() }}) as brier_score,
        cast(
            case when grid.unknown_reason is null and grid.no_base_rate_count = 0 then grid.reference_brier_score end
            as {{ type_double() }}
        ) as reference_brier_score,
        cast(
            case
                when
                    grid.unknown_reason is null
                    and grid.no_base_rate_count = 0
                    and grid.reference_brier_score > 0
                    then 1 - grid.brier_score / grid.reference_brier_score
            end as {{ type_double() }}
        ) as brier_skill_score,
        window_bounds.first_month_start,
        window_bounds.last_month_start,
        cast(case when grid.unknown_reason is null then 'ok' else 'unknown' end as {{ type_varchar() }}) as status,
        cast(grid.unknown_reason as {{ type_varchar() }}) as unknown_reason
    from grid
    cross join window_bounds

)

select * from final
