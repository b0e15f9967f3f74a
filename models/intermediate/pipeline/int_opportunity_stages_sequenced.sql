-- One row per deal x stage interval: an unbroken run of history rows in the same
-- stage. A deal without history rows is one interval in its current stage from its
-- created date. Intervals tile the deal's life: each ends when the next begins.

with

history as (

    select * from {{ ref('int_opportunity_history_as_of') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

stage_map as (

    select * from {{ ref('stage_map') }}

),

run_starts as (

    select
        opportunity_id,
        stage_name,
        created_at as entered_at,
        history_sequence
    from history
    where is_stage_change

),

deals_without_history as (

    select
        opportunities.opportunity_id,
        opportunities.stage_name,
        opportunities.created_at as entered_at,
        1 as history_sequence
    from opportunities
    where
        opportunities.created_date <= {{ as_of_date() }}
        and not exists (
            select 1 from history
            where history.opportunity_id = opportunities.opportunity_id
        )

),

intervals as (

    select * from run_starts
    union all
    select * from deals_without_history

),

sequenced as (

    select
        opportunity_id,
        stage_name,
        entered_at,
        row_number() over (
            partition by opportunity_id order by entered_at, history_sequence
        ) as stage_sequence,
        lead(entered_at) over (
            partition by opportunity_id order by entered_at, history_sequence
        ) as exited_at,
        lead(stage_name) over (
            partition by opportunity_id order by entered_at, history_sequence
        ) as next_stage_name,
        lag(stage_name) over (
            partition by opportunity_id order by entered_at, history_sequence
        ) as previous_stage_name
    from intervals

),

with_order as (

    select
        sequenced.*,
        cast(sequenced.entered_at as date) as entered_date,
        cast(sequenced.exited_at as date) as exited_date,
        this_stage.stage_order,
        this_stage.is_closed as is_closed_stage,
        previous_stage.stage_order as previous_stage_order
    from sequenced
    left join stage_map as this_stage
        on sequenced.stage_name = this_stage.stage_name
    left join stage_map as previous_stage
        on sequenced.previous_stage_name = previous_stage.stage_name

),

final as (

    select
        opportunity_id,
        stage_sequence,
        stage_name,
        stage_order,
        is_closed_stage,
        previous_stage_name,
        next_stage_name,
        entered_at,
        exited_at,
        entered_date,
        exited_date,
        coalesce(stage_order < previous_stage_order, false) as is_regression,
        exited_at is null as is_current
    from with_order

)

select * from final
