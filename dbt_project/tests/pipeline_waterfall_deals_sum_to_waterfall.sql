-- pipeline_waterfall_deals sums to pipeline_waterfall: per period x window x owner, each
-- movement's deal count and amount; start from the deals' amount_start (those in S) and
-- end from amount_end (those in E). The team and company rows are the sums of the owner
-- rows. Amounts within a relative 1e-6 (sums of doubles depend on their order).
-- Returns the rows that do not match.

with

deals as (

    select * from {{ ref('pipeline_waterfall_deals') }}

),

waterfall as (

    select
        as_of_date,
        period,
        {{ adapter.quote('window') }} as window_name,
        rollup_level,
        coalesce(owner_id, '') as owner_key,
        coalesce(team, '') as team_key,
        movement,
        deal_count,
        amount
    from {{ ref('pipeline_waterfall') }}

),

deal_movements as (

    select
        as_of_date,
        period,
        {{ adapter.quote('window') }} as window_name,
        coalesce(owner_id, '') as owner_key,
        coalesce(team, '') as team_key,
        movement,
        count(*) as deal_count,
        sum(amount) as amount
    from deals
    group by 1, 2, 3, 4, 5, 6
    union all
    select
        as_of_date,
        period,
        {{ adapter.quote('window') }},
        coalesce(owner_id, ''),
        coalesce(team, ''),
        'start',
        sum(case when movement not in ('created', 'pulled_in') then 1 else 0 end),
        sum(amount_start)
    from deals
    group by 1, 2, 3, 4, 5
    union all
    select
        as_of_date,
        period,
        {{ adapter.quote('window') }},
        coalesce(owner_id, ''),
        coalesce(team, ''),
        'end',
        sum(case when movement not in ('won', 'lost', 'pushed_out', 'removed') then 1 else 0 end),
        sum(amount_end)
    from deals
    group by 1, 2, 3, 4, 5

),

expected as (

    -- owner rows from the deals; team and company rows from those owner rows
    select
        as_of_date,
        period,
        window_name,
        'owner' as rollup_level,
        owner_key,
        team_key,
        movement,
        deal_count,
        amount
    from deal_movements
    union all
    select
        as_of_date,
        period,
        window_name,
        'team',
        '',
        team_key,
        movement,
        sum(deal_count),
        sum(amount)
    from deal_movements
    group by 1, 2, 3, 6, 7
    union all
    select
        as_of_date,
        period,
        window_name,
        'company',
        '',
        '',
        movement,
        sum(deal_count),
        sum(amount)
    from deal_movements
    group by 1, 2, 3, 7

),

compared as (

    select
        coalesce(waterfall.period, expected.period) as period,
        coalesce(waterfall.window_name, expected.window_name) as window_name,
        coalesce(waterfall.rollup_level, expected.rollup_level) as rollup_level,
        coalesce(waterfall.owner_key, expected.owner_key) as owner_key,
        coalesce(waterfall.team_key, expected.team_key) as team_key,
        coalesce(waterfall.movement, expected.movement) as movement,
        coalesce(waterfall.deal_count, 0) as waterfall_deal_count,
        coalesce(expected.deal_count, 0) as deals_deal_count,
        coalesce(waterfall.amount, 0) as waterfall_amount,
        coalesce(expected.amount, 0) as deals_amount
    from waterfall
    full outer join expected
        on
            waterfall.as_of_date = expected.as_of_date
            and waterfall.period = expected.period
            and waterfall.window_name = expected.window_name
            and waterfall.rollup_level = expected.rollup_level
            and waterfall.owner_key = expected.owner_key
            and waterfall.team_key = expected.team_key
            and waterfall.movement = expected.movement

)

select *
from compared
where
    waterfall_deal_count <> deals_deal_count
    or abs(waterfall_amount - deals_amount) > 1e-6 * (1 + abs(deals_amount))
