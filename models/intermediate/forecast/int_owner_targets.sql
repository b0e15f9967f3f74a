-- One row per period x owner that has a target or a deal in the period: the period's
-- target (the sum of the owner's monthly quotas that start in it) and the owner's team.
-- is_quota_tracked: false when the CRM has no quotas at all, and every target is unknown.

with

quotas as (

    select * from {{ ref('stg_salesforce__forecasting_quotas') }}

),

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

periods as (

    select * from {{ ref('int_forecast_periods') }}

),

buckets as (

    select * from {{ ref('int_deal_forecast_buckets') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

period_quotas as (

    select
        periods.period_type,
        periods.period_start,
        quotas.owner_id,
        sum(quotas.quota_amount) as target_amount
    from quotas
    inner join periods
        on quotas.start_date >= periods.period_start
            and quotas.start_date <= periods.period_end
    group by 1, 2, 3

),

owners as (

    select period_type, period_start, owner_id from period_quotas
    union
    select period_type, period_start, owner_id from buckets

),

final as (

    select
        owners.period_type,
        owners.period_start,
        periods.period_end,
        periods.period_offset,
        owners.owner_id,
        coalesce(users.team, 'Unassigned') as team,
        period_quotas.target_amount,
        tracking.is_quota_tracked
    from owners
    inner join periods
        on owners.period_type = periods.period_type
            and owners.period_start = periods.period_start
    left join period_quotas
        on owners.period_type = period_quotas.period_type
            and owners.period_start = period_quotas.period_start
            and owners.owner_id = period_quotas.owner_id
    left join users
        on owners.owner_id = users.user_id
    cross join tracking

)

select * from final
