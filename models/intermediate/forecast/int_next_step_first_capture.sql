-- One row: the first day the project captured the opportunities' next steps (snapshot
-- opportunity_state_snapshot), from which the forecast buckets of a past day follow the
-- committed / best-case rules; before it, the forecast category history decides
-- (DESIGN.md "Forecast variance"). NULL when the CRM tracks no next step or no
-- next-step date: then every day uses the forecast category history.

with

opportunity_states as (

    select * from {{ ref('opportunity_state_snapshot') }}

),

tracking as (

    select * from {{ ref('int_source_tracking') }}

),

final as (

    select
        min(
            case
                when tracking.is_next_step_tracked and tracking.is_next_step_date_tracked
                    then cast(opportunity_states.dbt_valid_from as date)
            end
        ) as first_captured_date
    from opportunity_states
    cross join tracking

)

select * from final
