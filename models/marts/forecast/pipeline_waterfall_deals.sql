-- Which deals moved the pipeline, and how? One row per period (current month, current
-- quarter) x window (last_7_days, period_to_date) x deal of S u E, with its one movement
-- (DESIGN.md "Pipeline waterfall"; int_pipeline_waterfall_deals). Summed by movement it
-- gives pipeline_waterfall's owner rows: amount_start to start, amount_end to end.

with

moved as (

    select * from {{ ref('int_pipeline_waterfall_deals') }}

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(period as {{ type_varchar() }}) as period,
        period_start,
        period_end,
        cast(window_name as {{ type_varchar() }}) as {{ adapter.quote('window') }},
        window_start_date,
        window_end_date,
        cast(opportunity_id as {{ type_varchar() }}) as opportunity_id,
        cast(movement as {{ type_varchar() }}) as movement,
        cast(amount_start as {{ type_double() }}) as amount_start,
        cast(amount_end as {{ type_double() }}) as amount_end,
        cast(amount as {{ type_double() }}) as amount,
        cast(owner_id as {{ type_varchar() }}) as owner_id,
        cast(team as {{ type_varchar() }}) as team,
        cast(stage_name_start as {{ type_varchar() }}) as stage_name_start,
        cast(stage_name_end as {{ type_varchar() }}) as stage_name_end,
        close_date_start,
        close_date_end
    from moved

)

select * from final
