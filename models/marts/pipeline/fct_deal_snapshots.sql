{{
    config(
        materialized=deal_snapshots_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_rebuilt_deal_snapshots(this, ref('stg_salesforce__opportunities'), deal_snapshots_kept_until(this)) }}",
        post_hook="{{ delete_days_after(this, 'snapshot_date', as_of_date()) }}"
    )
}}

{%- set kept_until = deal_snapshots_kept_until(this) %}

-- One row per day x deal open that day, reconstructed from opportunity_history back to
-- the first history row: the deal's state ranges (int_opportunity_states_ranged) joined
-- to the calendar days they cover, never a deal x every-day cross join.
-- Incremental: a run keeps the days up to max(snapshot_date) - snapshot_lookback_days
-- ("kept_until") and rebuilds the days after it up to as_of_date, and every day of the
-- deals modified after it (last_modified_at: a late history row, a backdated close date,
-- a reopened deal). Its pre-hook first deletes the rows it rebuilds and every row of a
-- deal the dimensions no longer hold (soft-deleted, or gone from a full extract), so the
-- snapshots never keep a deal dim_deals dropped. --full-refresh reconstructs every day.
-- Days after as_of_date (left by a run for a later day) are deleted by the post-hook,
-- so the table always ends on as_of_date. On Spark (no DELETE on Parquet) the model is
-- a table, rebuilt at every run.

with

states as (

    select * from {{ ref('int_opportunity_states_ranged') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

days as (

    select calendar_date
    from calendar
    where calendar_date <= {{ as_of_date() }}

),

rebuilt_days as (

    -- the days every deal is rebuilt on: all of them, or those after kept_until
    select calendar_date
    from days
    {% if kept_until is not none %}
        where calendar_date > cast('{{ kept_until }}' as date)
    {% endif %}

),

modified_deals as (

    -- deals whose whole history is rebuilt: modified after kept_until (none otherwise)
    select opportunity_id
    from opportunities
    {% if kept_until is not none %}
        where cast(last_modified_at as date) > cast('{{ kept_until }}' as date)
    {% else %}
        where false
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
        rebuilt_days.calendar_date as snapshot_date,
        open_states.*
    from open_states
    inner join rebuilt_days
        on rebuilt_days.calendar_date >= open_states.open_from_date
            and rebuilt_days.calendar_date <= open_states.open_until_date

    union all

    -- the kept days of the modified deals (the days after kept_until are above); none
    -- on a full build
    select
        days.calendar_date as snapshot_date,
        open_states.*
    from open_states
    inner join days
        on days.calendar_date >= open_states.open_from_date
            and days.calendar_date <= open_states.open_until_date
    where
        {% if kept_until is not none %}
            days.calendar_date <= cast('{{ kept_until }}' as date)
        {% else %}
            false
        {% endif %}
        and open_states.opportunity_id in (select modified_deals.opportunity_id from modified_deals)

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
