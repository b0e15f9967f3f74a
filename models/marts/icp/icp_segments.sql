-- The evidence for the ICP definition: closed deals of the discovery window
-- (int_closed_deals_banded) grouped by company-size band, industry, deal-size band,
-- cycle-length band and ICP / non-ICP, each segment with its win rate, won amount and
-- median cycle, ranked by win rate within its segment type (ties: more deals first,
-- then segment value).

with

closed_deals as (

    select * from {{ ref('int_closed_deals_banded') }}

),

segmented as (

    select
        'company_size' as segment_type,
        company_size_band as segment_value,
        company_size_band_order as band_order,
        is_won,
        amount,
        cycle_days
    from closed_deals
    union all
    select
        'industry' as segment_type,
        industry_segment as segment_value,
        cast(null as integer) as band_order,
        is_won,
        amount,
        cycle_days
    from closed_deals
    union all
    select
        'deal_size' as segment_type,
        deal_size_band as segment_value,
        deal_size_band_order as band_order,
        is_won,
        amount,
        cycle_days
    from closed_deals
    union all
    select
        'cycle_length' as segment_type,
        cycle_length_band as segment_value,
        cycle_length_band_order as band_order,
        is_won,
        amount,
        cycle_days
    from closed_deals
    union all
    select
        'icp' as segment_type,
        case when is_icp then 'icp' else 'non_icp' end as segment_value,
        case when is_icp then 1 else 2 end as band_order,
        is_won,
        amount,
        cycle_days
    from closed_deals
    -- no ICP criterion tracked: no icp / non_icp segments (is_icp unknown)
    where is_icp is not null

),

aggregated as (

    select
        segment_type,
        segment_value,
        max(band_order) as band_order,
        count(*) as deal_count,
        sum(case when is_won then 1 else 0 end) as won_count,
        sum(case when is_won then 0 else 1 end) as lost_count,
        coalesce(sum(case when is_won then amount end), 0) as won_amount,
        coalesce(sum(case when not is_won then amount end), 0) as lost_amount,
        {{ median('cast(cycle_days as ' ~ type_double() ~ ')') }} as median_cycle_days
    from segmented
    group by segment_type, segment_value

),

rated as (

    select
        *,
        cast(won_count as {{ type_double() }}) / deal_count as win_rate,
        case
            when won_amount + lost_amount > 0
                then won_amount / (won_amount + lost_amount)
        end as amount_win_rate
    from aggregated

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        segment_type,
        segment_value,
        cast(band_order as integer) as band_order,
        cast(deal_count as integer) as deal_count,
        cast(won_count as integer) as won_count,
        cast(lost_count as integer) as lost_count,
        win_rate,
        cast(won_amount as {{ type_double() }}) as won_amount,
        cast(lost_amount as {{ type_double() }}) as lost_amount,
        cast(amount_win_rate as {{ type_double() }}) as amount_win_rate,
        cast(median_cycle_days as {{ type_double() }}) as median_cycle_days,
        cast(
            row_number() over (
                partition by segment_type
                order by win_rate desc, deal_count desc, segment_value asc
            ) as integer
        ) as rank
    from rated

)

select * from final
