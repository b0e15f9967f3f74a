-- The six RevOps health metrics of DESIGN.md for as_of_date, each with its value, its
-- healthy band and a green / yellow / red status, plus lead-to-opportunity conversion,
-- pipeline velocity and revenue per customer for the company and per team, and CAC
-- (all channels) and net revenue retention from growth_metrics.

with

forecast as (

    select * from {{ ref('forecast') }}

),

forecast_accuracy as (

    select * from {{ ref('forecast_accuracy') }}

),

risk as (

    select * from {{ ref('deal_risk') }}

),

icp as (

    select * from {{ ref('icp_fit') }}

),

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

stages as (

    select * from {{ ref('int_opportunity_stages_sequenced') }}

),

typical as (

    select * from {{ ref('int_stage_durations_typical') }}

),

leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

growth as (

    select * from {{ ref('growth_metrics') }}

),

-- why a metric is unknown when its input is not tracked (NULL: it is tracked)
untracked_reasons as (

    select
        case when not is_quota_tracked then 'quotas not tracked in the CRM' end as pipeline_coverage,
        case when not is_next_step_tracked then 'next steps not tracked in the CRM' end as next_step_share,
        case when not is_history_tracked then 'opportunity history not tracked in the CRM' end
            as forecast_variance,
        case when not is_history_tracked then 'opportunity history not tracked in the CRM' end
            as time_in_stage_vs_baseline,
        case when icp_tracked_criteria_count = 0 then 'no ICP criterion tracked in the CRM' end
            as icp_share_of_pipeline,
        case when not is_lead_tracked then 'leads not tracked in the CRM' end
            as lead_to_opportunity_conversion_rate
    from tracking

),

coverage as (

    -- one row even when forecast has no company row for the quarter: the metric is then
    -- unknown rather than missing
    select
        'pipeline_coverage' as metric,
        max(coverage_ratio) as metric_value
    from forecast
    where rollup_level = 'company' and period_type = 'quarter' and period_offset = 'current'

),

next_step_share as (

    select
        'next_step_share' as metric,
        avg(cast(case when has_next_step then 1 else 0 end as {{ type_double() }})) as metric_value
    from risk

),

closed_windows as (

    -- win rate over the trailing window, as of today and as of a week ago
    select
        sum(
            case
                when close_date > {{ dbt.dateadd('day', -var('win_rate_trend_window_days'), as_of_date()) }}
                    and close_date <= {{ as_of_date() }} and is_won_stage
                    then 1
                else 0
            end
        ) as won_now,
        sum(
            case
                when close_date > {{ dbt.dateadd('day', -var('win_rate_trend_window_days'), as_of_date()) }}
                    and close_date <= {{ as_of_date() }}
                    then 1
                else 0
            end
        ) as closed_now,
        sum(
            case
                when close_date > {{ dbt.dateadd('day', -(var('win_rate_trend_window_days') + 7), as_of_date()) }}
                    and close_date <= {{ dbt.dateadd('day', -7, as_of_date()) }} and is_won_stage
                    then 1
                else 0
            end
        ) as won_before,
        sum(
            case
                when close_date > {{ dbt.dateadd('day', -(var('win_rate_trend_window_days') + 7), as_of_date()) }}
                    and close_date <= {{ dbt.dateadd('day', -7, as_of_date()) }}
                    then 1
                else 0
            end
        ) as closed_before
    from deals
    where is_closed_stage

),

win_rate_trend as (

    select
        'win_rate_week_over_week_change' as metric,
        case
            when closed_now > 0 and closed_before > 0
                then cast(won_now as {{ type_double() }}) / closed_now
                - cast(won_before as {{ type_double() }}) / closed_before
        end as metric_value
    from closed_windows

),

latest_variance as (

    -- the inner select reads forecast_accuracy again, uncorrelated (sqlfluff sees a reused alias)
    -- noqa: disable=AL04,RF02
    select
        'forecast_variance' as metric,
        max(variance_rate) as metric_value
    from forecast_accuracy
    where
        rollup_level = 'company'
        and period_type = 'month'
        and period_start = (
            select max(period_start) from forecast_accuracy
            where rollup_level = 'company' and period_type = 'month'
        )
        -- noqa: enable=all

),

recent_intervals as (

    select
        stages.stage_name,
        {{ days_between('stages.entered_date', 'stages.exited_date') }} as interval_days,
        typical.typical_stage_days
    from stages
    inner join typical
        on stages.stage_name = typical.stage_name
    where
        not stages.is_closed_stage
        and stages.exited_date > {{ dbt.dateadd('day', -var('time_in_stage_recent_days'), as_of_date()) }}
        and stages.exited_date <= {{ as_of_date() }}

),

time_in_stage as (

    select
        'time_in_stage_vs_baseline' as metric,
        case
            when sum(typical_stage_days) > 0
                then sum(interval_days) / sum(typical_stage_days)
        end as metric_value
    from recent_intervals

),

icp_share as (

    select
        'icp_share_of_pipeline' as metric,
        case
            when sum(coalesce(risk.amount, 0)) > 0
                then sum(case when icp.is_icp then coalesce(risk.amount, 0) else 0 end)
                / sum(coalesce(risk.amount, 0))
        end as metric_value
    from risk
    left join icp
        on risk.opportunity_id = icp.opportunity_id

),

health_metrics as (

    select * from coverage
    union all
    select * from next_step_share
    union all
    select * from win_rate_trend
    union all
    select * from latest_variance
    union all
    select * from time_in_stage
    union all
    select * from icp_share

),

health_rows as (

    select
        health_metrics.metric,
        'company' as rollup_level,
        cast(null as {{ dbt.type_string() }}) as team,
        -- an input that is not tracked: unknown, never a red flag
        case
            when
                case health_metrics.metric
                    when 'pipeline_coverage' then untracked_reasons.pipeline_coverage
                    when 'next_step_share' then untracked_reasons.next_step_share
                    when 'forecast_variance' then untracked_reasons.forecast_variance
                    when 'time_in_stage_vs_baseline' then untracked_reasons.time_in_stage_vs_baseline
                    when 'icp_share_of_pipeline' then untracked_reasons.icp_share_of_pipeline
                end is null
                then health_metrics.metric_value
        end as metric_value,
        case health_metrics.metric
            when 'pipeline_coverage' then untracked_reasons.pipeline_coverage
            when 'next_step_share' then untracked_reasons.next_step_share
            when 'forecast_variance' then untracked_reasons.forecast_variance
            when 'time_in_stage_vs_baseline' then untracked_reasons.time_in_stage_vs_baseline
            when 'icp_share_of_pipeline' then untracked_reasons.icp_share_of_pipeline
        end as unknown_reason,
        case health_metrics.metric
            when 'pipeline_coverage' then {{ var('coverage_healthy_min') }}
            when 'next_step_share' then {{ var('next_step_share_healthy_min') }}
            when 'win_rate_week_over_week_change' then -{{ var('win_rate_flat_tolerance') }}
            when 'forecast_variance' then -{{ var('forecast_variance_healthy_rate') }}
            when 'icp_share_of_pipeline' then {{ var('icp_share_healthy_min') }}
        end as healthy_min,
        case health_metrics.metric
            when 'pipeline_coverage' then {{ var('coverage_healthy_max') }}
            when 'forecast_variance' then {{ var('forecast_variance_healthy_rate') }}
            when 'time_in_stage_vs_baseline' then {{ var('time_in_stage_healthy_max_ratio') }}
        end as healthy_max
    from health_metrics
    cross join untracked_reasons

),

{#- Values are compared with the band edges to within 1e-9, so a value that is on an edge
    in decimal (a 2-point drop: 0.48 - 0.50 = -0.020000000000000018 in binary floating
    point) falls on the side the band's inclusive or strict edge says. -#}
{%- set eps = '1e-9' %}

statused as (

    select
        *,
        case
            when metric_value is null then 'unknown'
            when metric = 'pipeline_coverage' and metric_value >= healthy_min - {{ eps }}
                and metric_value <= healthy_max + {{ eps }}
                then 'green'
            when metric = 'pipeline_coverage'
                and metric_value >= healthy_min * (1 - {{ var('health_yellow_margin_rate') }}) - {{ eps }}
                then 'yellow'
            when metric in ('next_step_share', 'icp_share_of_pipeline') and metric_value > healthy_min + {{ eps }}
                then 'green'
            when metric in ('next_step_share', 'icp_share_of_pipeline')
                and metric_value > healthy_min * (1 - {{ var('health_yellow_margin_rate') }}) + {{ eps }} then 'yellow'
            when metric = 'win_rate_week_over_week_change' and metric_value >= healthy_min - {{ eps }} then 'green'
            when metric = 'win_rate_week_over_week_change' and metric_value >= 2 * healthy_min - {{ eps }} then 'yellow'
            when metric = 'forecast_variance' and abs(metric_value) <= healthy_max + {{ eps }} then 'green'
            when metric = 'forecast_variance'
                and abs(metric_value) <= {{ var('forecast_variance_yellow_rate') }} + {{ eps }}
                then 'yellow'
            when metric = 'time_in_stage_vs_baseline' and metric_value <= healthy_max + {{ eps }} then 'green'
            when metric = 'time_in_stage_vs_baseline'
                and metric_value <= healthy_max * (1 + {{ var('health_yellow_margin_rate') }}) + {{ eps }}
                then 'yellow'
            else 'red'
        end as status
    from health_rows

),

-- the efficiency metrics, for the company and each team (no healthy band)
closed_year as (

    select
        deals.*,
        coalesce(users.team, 'Unassigned') as team,
        {{ days_between('deals.created_date', 'deals.close_date') }} as cycle_days
    from deals
    left join users
        on deals.owner_id = users.user_id
    where
        deals.is_closed_stage
        and deals.close_date > {{ dbt.dateadd('day', -var('icp_win_rate_window_days'), as_of_date()) }}
        and deals.close_date <= {{ as_of_date() }}

),

open_by_team as (

    select
        coalesce(users.team, 'Unassigned') as team,
        count(*) as open_deal_count
    from deals
    left join users
        on deals.owner_id = users.user_id
    where deals.is_open
    group by 1

),

velocity_inputs as (

    select
        team,
        count(*) as closed_count,
        sum(case when is_won_stage then 1 else 0 end) as won_count,
        avg(case when is_won_stage then amount end) as average_won_amount,
        avg(case when is_won_stage then cycle_days end) as average_cycle_days,
        sum(case when is_won_stage then amount else 0 end) as won_amount,
        count(distinct case when is_won_stage then account_id end) as won_account_count
    from closed_year
    group by 1

),

lead_conversion as (

    select
        coalesce(users.team, 'Unassigned') as team,
        count(*) as lead_count,
        sum(case when leads.is_converted then 1 else 0 end) as converted_count
    from leads
    left join users
        on leads.owner_id = users.user_id
    where
        leads.created_date > {{ dbt.dateadd('day', -var('lead_conversion_window_days'), as_of_date()) }}
        and leads.created_date <= {{ as_of_date() }}
    group by 1

),

team_inputs as (

    select
        coalesce(velocity_inputs.team, open_by_team.team, lead_conversion.team) as team,
        coalesce(open_by_team.open_deal_count, 0) as open_deal_count,
        coalesce(velocity_inputs.closed_count, 0) as closed_count,
        coalesce(velocity_inputs.won_count, 0) as won_count,
        velocity_inputs.average_won_amount * velocity_inputs.won_count as won_amount_for_average,
        velocity_inputs.average_cycle_days * velocity_inputs.won_count as cycle_days_for_average,
        coalesce(velocity_inputs.won_amount, 0) as won_amount,
        coalesce(velocity_inputs.won_account_count, 0) as won_account_count,
        coalesce(lead_conversion.lead_count, 0) as lead_count,
        coalesce(lead_conversion.converted_count, 0) as converted_count
    from velocity_inputs
    full outer join open_by_team
        on velocity_inputs.team = open_by_team.team
    full outer join lead_conversion
        on coalesce(velocity_inputs.team, open_by_team.team) = lead_conversion.team

),

-- the team rows and the company row that adds them up (team_inputs is one row per team)
scoped_inputs as (

    {{ owner_team_company_rollup(
        'team_inputs',
        measures=[
            'open_deal_count',
            'closed_count',
            'won_count',
            'won_amount_for_average',
            'cycle_days_for_average',
            'won_amount',
            'won_account_count',
            'lead_count',
            'converted_count',
        ],
        levels=['team', 'company'],
    ) }}

),

efficiency_rows as (

    select
        'lead_to_opportunity_conversion_rate' as metric, rollup_level, team,
        case when lead_count > 0 then cast(converted_count as {{ type_double() }}) / lead_count end
            as metric_value
    from scoped_inputs
    union all
    select
        'pipeline_velocity_amount_per_day', rollup_level, team,
        case
            when closed_count > 0 and won_count > 0 and cycle_days_for_average > 0
                then open_deal_count
                * (cast(won_count as {{ type_double() }}) / closed_count)
                * (won_amount_for_average / won_count)
                / (cycle_days_for_average / won_count)
        end
    from scoped_inputs
    union all
    select
        'revenue_per_customer_amount', rollup_level, team,
        case when won_account_count > 0 then won_amount / won_account_count end
    from scoped_inputs

),

efficiency_tracked as (

    select
        efficiency_rows.*,
        untracked_reasons.lead_to_opportunity_conversion_rate as lead_untracked_reason
    from efficiency_rows
    cross join untracked_reasons

),

-- CAC for the company (all channels) and NRR, with growth_metrics' bands and statuses
growth_rows as (

    select
        case metric when 'cac' then 'cac_amount' else 'net_revenue_retention' end as metric,
        value,
        healthy_min,
        healthy_max,
        status,
        unknown_reason
    from growth
    where channel = 'all'

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        metric,
        rollup_level,
        team,
        cast(metric_value as {{ type_double() }}) as value,
        cast(healthy_min as {{ type_double() }}) as healthy_min,
        cast(healthy_max as {{ type_double() }}) as healthy_max,
        status,
        cast(
            case
                when unknown_reason is not null then unknown_reason
                when status = 'unknown' then 'no data to compute it from'
            end as {{ type_varchar() }}
        ) as unknown_reason
    from statused
    union all
    select
        {{ as_of_date() }},
        metric,
        rollup_level,
        team,
        cast(metric_value as {{ type_double() }}),
        cast(null as {{ type_double() }}),
        cast(null as {{ type_double() }}),
        case
            when metric = 'lead_to_opportunity_conversion_rate' and lead_untracked_reason is not null
                then 'unknown'
            else 'info'
        end,
        cast(
            case
                when metric = 'lead_to_opportunity_conversion_rate' then lead_untracked_reason
            end as {{ type_varchar() }}
        )
    from efficiency_tracked
    union all
    select
        {{ as_of_date() }},
        metric,
        'company',
        cast(null as {{ dbt.type_string() }}),
        cast(value as {{ type_double() }}),
        cast(healthy_min as {{ type_double() }}),
        cast(healthy_max as {{ type_double() }}),
        status,
        cast(unknown_reason as {{ type_varchar() }})
    from growth_rows

)

select * from final
