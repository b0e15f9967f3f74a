-- One row per deal x stage interval known on as_of_date (an unbroken run of history
-- rows in one stage), with its length in calendar and business days. Intervals tile
-- the deal's life: each ends when the next begins; the current one runs to as_of_date.

with

stages as (

    select * from {{ ref('int_opportunity_stages_sequenced') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

measured as (

    select
        stages.*,
        coalesce(stages.exited_date, {{ as_of_date() }}) as measured_until_date
    from stages

),

final as (

    select
        measured.opportunity_id,
        cast(measured.stage_sequence as integer) as stage_sequence,
        opportunities.owner_id,
        measured.stage_name,
        cast(measured.stage_order as integer) as stage_order,
        coalesce(measured.is_closed_stage, false) as is_closed_stage,
        measured.previous_stage_name,
        measured.next_stage_name,
        measured.entered_at,
        measured.exited_at,
        measured.entered_date,
        measured.exited_date,
        cast(
            {{ days_between('measured.entered_date', 'measured.measured_until_date') }} as integer
        ) as days_in_stage,
        cast(
            until_day.business_day_index - entered_day.business_day_index as integer
        ) as business_days_in_stage,
        measured.is_regression,
        measured.is_current
    from measured
    left join opportunities
        on measured.opportunity_id = opportunities.opportunity_id
    left join calendar as entered_day
        on measured.entered_date = entered_day.calendar_date
    left join calendar as until_day
        on measured.measured_until_date = until_day.calendar_date

)

select * from final
