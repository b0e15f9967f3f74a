-- How often deals that reached each open stage go on to win, calibrated toward the
-- stage map's default probability on small samples: one row per open stage x segment
-- ('all', 'icp', 'non_icp', 'lead_source:<source>'). The forecast weights open deals
-- with the 'all' rows (int_deal_probabilities).

with

calibrated as (

    select * from {{ ref('int_stage_conversions_calibrated') }}

),

final as (

    select
        as_of_date,
        stage_name,
        cast(stage_order as integer) as stage_order,
        segment,
        segment_type,
        cast(deal_count as integer) as deal_count,
        cast(won_count as integer) as won_count,
        cast(lost_count as integer) as lost_count,
        cast(raw_rate as {{ type_double() }}) as raw_rate,
        cast(default_probability as {{ type_double() }}) as default_probability,
        cast(calibrated_probability as {{ type_double() }}) as calibrated_probability
    from calibrated

)

select * from final
