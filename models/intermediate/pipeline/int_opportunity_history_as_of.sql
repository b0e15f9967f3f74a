-- The history rows known on as_of_date, in order per deal, each with the row before
-- it: the base for stage runs, close-date pushes and the state of a deal on any day.

with

history as (

    select * from {{ ref('stg_salesforce__opportunity_history') }}

),

known as (

    select *
    from history
    where created_date <= {{ as_of_date() }}

),

ordered as (

    select
        opportunity_history_id,
        opportunity_id,
        stage_name,
        forecast_category,
        amount,
        close_date,
        created_at,
        created_date,
        row_number() over (
            partition by opportunity_id order by created_at, opportunity_history_id
        ) as history_sequence,
        lag(stage_name) over (
            partition by opportunity_id order by created_at, opportunity_history_id
        ) as previous_stage_name,
        lag(close_date) over (
            partition by opportunity_id order by created_at, opportunity_history_id
        ) as previous_close_date
    from known

),

final as (

    select
        opportunity_history_id,
        opportunity_id,
        history_sequence,
        stage_name,
        forecast_category,
        amount,
        close_date,
        created_at,
        created_date,
        previous_stage_name,
        previous_close_date,
        previous_stage_name is null
        or stage_name <> previous_stage_name as is_stage_change,
        coalesce(close_date > previous_close_date, false) as is_close_date_push
    from ordered

)

select * from final
