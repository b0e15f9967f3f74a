-- The calls, emails and meetings logged on each deal in the last `deal_interactions_days`
-- (90) days up to as_of_date, newest first: what the deal page lists beside the deal's
-- risk flags, so a manager sees the activity behind "inactive" and "floating".

with

interactions as (

    select * from {{ ref('int_deal_interactions') }}

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        interaction_id,
        opportunity_id,
        owner_id,
        interaction_type,
        subject,
        interaction_date,
        interaction_at
    from interactions
    where
        interaction_date <= {{ as_of_date() }}
        and interaction_date > {{ dbt.dateadd('day', -var('deal_interactions_days'), as_of_date()) }}

)

select * from final
