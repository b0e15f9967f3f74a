-- One row per deal with a logged interaction on or before as_of_date: the last one,
-- and whether there was any in the floating and optimism-hold windows.

with

interactions as (

    select * from {{ ref('int_deal_interactions') }}

),

known as (

    select *
    from interactions
    where interaction_date <= {{ as_of_date() }}

),

ranked as (

    select
        opportunity_id,
        interaction_type,
        interaction_date,
        row_number() over (
            partition by opportunity_id
            order by interaction_date desc, interaction_at desc, interaction_id desc
        ) as recency
    from known

),

windows as (

    select
        opportunity_id,
        count(*) as interaction_count,
        sum(
            case
                when interaction_date > {{ dbt.dateadd('day', -var('floating_no_interaction_days'), as_of_date()) }}
                    then 1
                else 0
            end
        ) as floating_window_interaction_count,
        sum(
            case
                when interaction_date > {{ dbt.dateadd('day', -var('optimism_hold_days'), as_of_date()) }}
                    then 1
                else 0
            end
        ) as optimism_window_interaction_count
    from known
    group by opportunity_id

),

final as (

    select
        windows.opportunity_id,
        windows.interaction_count,
        windows.floating_window_interaction_count,
        windows.optimism_window_interaction_count,
        ranked.interaction_date as last_interaction_date,
        ranked.interaction_type as last_interaction_type
    from windows
    inner join ranked
        on windows.opportunity_id = ranked.opportunity_id
            and ranked.recency = 1

)

select * from final
