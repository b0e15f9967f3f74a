-- Growth metrics for as_of_date (DESIGN.md "CAC by channel", "Net revenue retention"):
-- one row per metric x channel. `cac`: marketing spend over the trailing
-- growth_metrics_window_days, each month's spend spread evenly over its days, divided by
-- the new-business deals won in the window whose lead_source is the channel (channel
-- 'all': all spend over all new-business deals won). `nrr` (channel 'all'): recurring
-- revenue on as_of_date from the accounts that had recurring revenue 12 months earlier,
-- over their recurring revenue then (basis `subscriptions`); without subscriptions, the
-- closed-won Expansion and Renewal amounts of the accounts that won a deal in the 12
-- months before that, over what those accounts won then (basis
-- `expansion_renewal_deals`). A metric whose inputs are absent is NULL with status
-- unknown and a reason, never 0.

with

spend as (

    select * from {{ ref('stg_salesforce__marketing_spend') }}

),

subscriptions as (

    select * from {{ ref('stg_salesforce__subscriptions') }}

),

deals as (

    select * from {{ ref('int_deals_as_of') }}

),

bounds as (

    select
        cast({{ dbt.dateadd('day', 1 - var('growth_metrics_window_days'), as_of_date()) }} as date)
            as window_start_date,
        {{ as_of_date() }} as window_end_date,
        cast({{ dbt.dateadd('month', -12, as_of_date()) }} as date) as cohort_date,
        cast({{ dbt.dateadd('month', -24, as_of_date()) }} as date) as cohort_start_date

),

inputs_present as (

    select
        (select count(*) from spend) > 0 as is_spend_tracked,
        (select count(*) from subscriptions) > 0 as is_subscription_tracked,
        (
            select count(*) from deals
            where
                is_won_stage
                and opportunity_type in {{ sql_literal_list(var('growth_retained_deal_types')) }}
        ) > 0 as has_retained_deals

),

-- CAC -------------------------------------------------------------------------------

spend_months as (

    select
        channel,
        spend_amount,
        spend_month,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'spend_month')) }} as date
        ) as spend_month_end
    from spend

),

spend_by_channel as (

    -- the days of each month inside the window, as a share of the month's days
    select
        spend_months.channel,
        sum(
            spend_months.spend_amount
            * cast(
                {{ dbt.datediff(
                    '(case when spend_months.spend_month > bounds.window_start_date'
                    ~ ' then spend_months.spend_month else bounds.window_start_date end)',
                    '(case when spend_months.spend_month_end < bounds.window_end_date'
                    ~ ' then spend_months.spend_month_end else bounds.window_end_date end)',
                    'day'
                ) }} + 1 as {{ type_double() }}
            )
            / ({{ dbt.datediff('spend_months.spend_month', 'spend_months.spend_month_end', 'day') }} + 1)
        ) as spend_amount
    from spend_months
    cross join bounds
    where
        spend_months.spend_month <= bounds.window_end_date
        and spend_months.spend_month_end >= bounds.window_start_date
    group by 1

),

won_by_channel as (

    select
        deals.lead_source as channel,
        count(*) as won_count,
        sum(coalesce(deals.amount, 0)) as won_amount
    from deals
    cross join bounds
    where
        deals.is_won_stage
        and deals.opportunity_type in {{ sql_literal_list(var('growth_new_business_deal_types')) }}
        and deals.close_date >= bounds.window_start_date
        and deals.close_date <= bounds.window_end_date
    group by 1

),

channels as (

    select channel from spend_by_channel
    union
    select channel
    from won_by_channel
    where channel is not null

),

cac_inputs as (

    select
        channels.channel,
        spend_by_channel.spend_amount,
        coalesce(won_by_channel.won_count, 0) as won_count,
        won_by_channel.won_amount
    from channels
    left join spend_by_channel
        on channels.channel = spend_by_channel.channel
    left join won_by_channel
        on channels.channel = won_by_channel.channel
    union all
    select
        'all',
        (select sum(spend_amount) from spend_by_channel),
        coalesce((select sum(won_count) from won_by_channel), 0),
        (select sum(won_amount) from won_by_channel)

),

cac_rows as (

    select
        'cac' as metric,
        cac_inputs.channel,
        bounds.window_start_date,
        bounds.window_end_date,
        cac_inputs.spend_amount as numerator_value,
        cast(cac_inputs.won_count as {{ type_double() }}) as denominator_value,
        case when inputs_present.is_spend_tracked then 'marketing_spend' end as basis,
        case
            when not inputs_present.is_spend_tracked then 'marketing spend not tracked in the source'
            when coalesce(cac_inputs.spend_amount, 0) <= 0
                then 'no marketing spend recorded for the channel in the window'
            when cac_inputs.won_count = 0 then 'no new-business deals won from the channel in the window'
        end as unknown_reason,
        -- the band scales with the average new-business deal won in the window
        cast(null as {{ type_double() }}) as healthy_min,
        case
            when cac_inputs.won_count > 0
                then {{ var('cac_healthy_max_deal_share') }} * cac_inputs.won_amount / cac_inputs.won_count
        end as healthy_max,
        case
            when cac_inputs.won_count > 0
                then {{ var('cac_yellow_max_deal_share') }} * cac_inputs.won_amount / cac_inputs.won_count
        end as yellow_max,
        cast(null as {{ type_double() }}) as yellow_min
    from cac_inputs
    cross join bounds
    cross join inputs_present

),

-- NRR -------------------------------------------------------------------------------

account_recurring as (

    select
        subscriptions.account_id,
        sum(
            case
                when subscriptions.start_date <= bounds.cohort_date
                    and (subscriptions.end_date is null or subscriptions.end_date >= bounds.cohort_date)
                    then subscriptions.mrr_amount
                else 0
            end
        ) as revenue_then,
        sum(
            case
                when subscriptions.start_date <= bounds.window_end_date
                    and (subscriptions.end_date is null or subscriptions.end_date >= bounds.window_end_date)
                    then subscriptions.mrr_amount
                else 0
            end
        ) as revenue_now
    from subscriptions
    cross join bounds
    group by 1

),

nrr_from_subscriptions as (

    select
        sum(case when revenue_then > 0 then revenue_now else 0 end) as revenue_now,
        sum(case when revenue_then > 0 then revenue_then else 0 end) as revenue_then
    from account_recurring

),

cohort_bookings as (

    -- accounts that won a deal (any type) in the 12 months up to the cohort date
    select
        deals.account_id,
        sum(coalesce(deals.amount, 0)) as amount
    from deals
    cross join bounds
    where
        deals.is_won_stage
        and deals.account_id is not null
        and deals.close_date > bounds.cohort_start_date
        and deals.close_date <= bounds.cohort_date
    group by 1

),

retained_bookings as (

    select
        deals.account_id,
        sum(coalesce(deals.amount, 0)) as amount
    from deals
    cross join bounds
    where
        deals.is_won_stage
        and deals.account_id is not null
        and deals.opportunity_type in {{ sql_literal_list(var('growth_retained_deal_types')) }}
        and deals.close_date > bounds.cohort_date
        and deals.close_date <= bounds.window_end_date
    group by 1

),

nrr_from_deals as (

    select
        sum(coalesce(retained_bookings.amount, 0)) as revenue_now,
        sum(cohort_bookings.amount) as revenue_then
    from cohort_bookings
    left join retained_bookings
        on cohort_bookings.account_id = retained_bookings.account_id

),

nrr_rows as (

    select
        'nrr' as metric,
        'all' as channel,
        case
            when inputs_present.is_subscription_tracked then bounds.cohort_date
            when inputs_present.has_retained_deals then bounds.cohort_start_date
        end as window_start_date,
        bounds.window_end_date,
        case
            when inputs_present.is_subscription_tracked then nrr_from_subscriptions.revenue_now
            when inputs_present.has_retained_deals then nrr_from_deals.revenue_now
        end as numerator_value,
        case
            when inputs_present.is_subscription_tracked then nrr_from_subscriptions.revenue_then
            when inputs_present.has_retained_deals then nrr_from_deals.revenue_then
        end as denominator_value,
        case
            when inputs_present.is_subscription_tracked then 'subscriptions'
            when inputs_present.has_retained_deals then 'expansion_renewal_deals'
        end as basis,
        case
            when inputs_present.is_subscription_tracked
                and coalesce(nrr_from_subscriptions.revenue_then, 0) <= 0
                then 'no account had recurring revenue 12 months before as_of_date'
            when inputs_present.is_subscription_tracked then null
            when not inputs_present.has_retained_deals
                then 'subscriptions not tracked in the source and no closed-won Expansion or Renewal deals'
            when coalesce(nrr_from_deals.revenue_then, 0) <= 0
                then 'no account won a deal in the 12 months before as_of_date - 12 months'
        end as unknown_reason,
        cast({{ var('nrr_healthy_min') }} as {{ type_double() }}) as healthy_min,
        cast(null as {{ type_double() }}) as healthy_max,
        cast(null as {{ type_double() }}) as yellow_max,
        cast({{ var('nrr_yellow_min') }} as {{ type_double() }}) as yellow_min
    from bounds
    cross join inputs_present
    cross join nrr_from_subscriptions
    cross join nrr_from_deals

),

metric_rows as (

    select * from cac_rows
    union all
    select * from nrr_rows

),

{#- band edges compared to within 1e-9, as in revops_health -#}
{%- set eps = '1e-9' %}

valued as (

    select
        *,
        case when unknown_reason is null then numerator_value / denominator_value end as metric_value
    from metric_rows

),

statused as (

    select
        *,
        case
            when metric_value is null then 'unknown'
            when metric = 'cac' and metric_value <= healthy_max + {{ eps }} then 'green'
            when metric = 'cac' and metric_value <= yellow_max + {{ eps }} then 'yellow'
            when metric = 'nrr' and metric_value >= healthy_min - {{ eps }} then 'green'
            when metric = 'nrr' and metric_value >= yellow_min - {{ eps }} then 'yellow'
            else 'red'
        end as status
    from valued

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(metric as {{ type_varchar() }}) as metric,
        cast(channel as {{ type_varchar() }}) as channel,
        cast(window_start_date as date) as window_start_date,
        cast(window_end_date as date) as window_end_date,
        cast(metric_value as {{ type_double() }}) as value,
        cast(numerator_value as {{ type_double() }}) as numerator_value,
        cast(denominator_value as {{ type_double() }}) as denominator_value,
        cast(basis as {{ type_varchar() }}) as basis,
        cast(healthy_min as {{ type_double() }}) as healthy_min,
        cast(healthy_max as {{ type_double() }}) as healthy_max,
        cast(status as {{ type_varchar() }}) as status,
        cast(unknown_reason as {{ type_varchar() }}) as unknown_reason
    from statused

)

select * from final
