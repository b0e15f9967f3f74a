{{
    config(
        materialized='incremental',
        incremental_strategy=replace_days_strategy(),
        partition_by=replace_days_partition_by('snapshot_date'),
        unique_key='snapshot_date',
        on_schema_change='fail',
        post_hook="{{ delete_days_after(this, 'snapshot_date', as_of_date()) }}"
    )
}}

-- One row per day x deal open that day, reconstructed from opportunity_history back to
-- the first history row: the deal's state ranges (int_opportunity_states_ranged) joined
-- to the calendar days they cover, never a deal x every-day cross join.
-- Incremental by day: a run rebuilds the days after max(snapshot_date) -
-- snapshot_lookback_days up to as_of_date (late history rows of the last days are
-- picked up) and keeps the earlier days; --full-refresh reconstructs every day.
-- Days after as_of_date (left by a run for a later day) are deleted by the post-hook,
-- so the table always ends on as_of_date.

with

states as (

    select * from {{ ref('int_opportunity_states_ranged') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

days as (

    select calendar_date
    from calendar
    where
        calendar_date <= {{ as_of_date() }}
        {% if is_incremental() %}
            and calendar_date > (
                select
                    cast(
                        {{ dbt.dateadd(
                            'day',
                            -var('snapshot_lookback_days'),
                            "coalesce(max(snapshot_date), cast('" ~ var('calendar_start_date') ~ "' as date))"
                        ) }} as date
                    )
                from {{ this }}
            )
        {% endif %}

),

open_states as (

    -- a deal is open on a day when it was created on or before it and its stage that
    -- day is not closed: clip each open state to the deal's life up to as_of_date
    select
        *,
        case
            when valid_from_date < created_date then created_date
            else valid_from_date
        end as open_from_date,
        case
            when valid_to_date is null or valid_to_date > {{ as_of_date() }} then {{ as_of_date() }}
            else valid_to_date
        end as open_until_date
    from states
    where is_open_stage

),

expanded as (

    select
        days.calendar_date as snapshot_date,
        open_states.*
    from open_states
    inner join days
        on days.calendar_date >= open_states.open_from_date
            and days.calendar_date <= open_states.open_until_date

),

final as (

    select
        snapshot_date,
        -- varchar as the contract says: on PostgreSQL a text column would not match the
        -- contract-built table, and the incremental run would report a schema change
        cast(opportunity_id as {{ type_varchar() }}) as opportunity_id,
        cast(owner_id as {{ type_varchar() }}) as owner_id,
        cast(account_id as {{ type_varchar() }}) as account_id,
        cast(stage_name as {{ type_varchar() }}) as stage_name,
        cast(stage_order as integer) as stage_order,
        cast(forecast_category as {{ type_varchar() }}) as forecast_category,
        cast(amount as {{ type_double() }}) as amount,
        close_date,
        coalesce(close_date < snapshot_date, false) as is_close_date_past,
        stage_entered_date,
        cast({{ days_between('stage_entered_date', 'snapshot_date') }} as integer) as days_in_stage,
        created_date
    from expanded

)

select * from final
