-- Each deal's stage intervals tile its life: numbered 1..n without gaps, each interval
-- exits when the next one enters, and exactly the last one is current (no exit).
-- Returns the offending intervals.

with

stages as (

    select * from {{ ref('fct_stage_history') }}

),

compared as (

    select
        opportunity_id,
        stage_sequence,
        entered_at,
        exited_at,
        is_current,
        lead(entered_at) over (partition by opportunity_id order by stage_sequence) as next_entered_at,
        row_number() over (partition by opportunity_id order by stage_sequence) as expected_sequence,
        sum(case when is_current then 1 else 0 end) over (partition by opportunity_id) as current_count
    from stages

)

select *
from compared
where
    stage_sequence <> expected_sequence
    or current_count <> 1
    or (next_entered_at is null and (exited_at is not null or not is_current))
    or (next_entered_at is not null and (exited_at is null or exited_at <> next_entered_at or is_current))
    or exited_at < entered_at
