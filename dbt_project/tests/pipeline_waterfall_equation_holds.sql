-- pipeline_waterfall: start + created + pulled_in + increased - decreased - won - lost
-- - pushed_out - removed = end at every period x window x rollup row set, every set has
-- all 11 movements once, and no amount or count is negative. Amounts within a relative
-- 1e-6 (sums of doubles depend on their order; integer amounts add up exactly).
-- Returns the row sets that break it.

with

waterfall as (

    select * from {{ ref('pipeline_waterfall') }}

),

row_sets as (

    select
        as_of_date,
        period,
        {{ adapter.quote('window') }} as window_name,
        rollup_level,
        owner_id,
        team,
        count(*) as movement_rows,
        count(distinct movement) as distinct_movements,
        min(amount) as min_amount,
        min(deal_count) as min_deal_count,
        sum(
            case
                when movement in ('start', 'created', 'pulled_in', 'increased') then amount
                when movement in ('decreased', 'won', 'lost', 'pushed_out', 'removed') then -amount
                else 0
            end
        ) as computed_end_amount,
        sum(case when movement = 'end' then amount else 0 end) as end_amount,
        sum(
            case
                when movement in ('start', 'created', 'pulled_in') then deal_count
                when movement in ('won', 'lost', 'pushed_out', 'removed') then -deal_count
                else 0
            end
        ) as computed_end_count,
        sum(case when movement = 'end' then deal_count else 0 end) as end_count
    from waterfall
    group by 1, 2, 3, 4, 5, 6

)

select *
from row_sets
where
    movement_rows <> 11
    or distinct_movements <> 11
    or min_amount < 0
    or min_deal_count < 0
    or computed_end_count <> end_count
    or abs(computed_end_amount - end_amount) > 1e-6 * (1 + abs(end_amount))
