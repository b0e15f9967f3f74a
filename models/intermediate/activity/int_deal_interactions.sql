-- Every logged interaction on a deal: completed calls and emails (tasks, dated by
-- completion, else activity date) and meetings (events, dated by their start).

with

tasks as (

    select * from {{ ref('stg_salesforce__tasks') }}

),

events as (

    select * from {{ ref('stg_salesforce__events') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

calls_and_emails as (

    select
        task_id as interaction_id,
        what_id as opportunity_id,
        owner_id,
        lower(task_subtype) as interaction_type,
        subject,
        coalesce(completed_at, cast(activity_date as {{ dbt.type_timestamp() }})) as interaction_at,
        coalesce(cast(completed_at as date), activity_date) as interaction_date
    from tasks
    where
        status = 'Completed'
        and task_subtype in ('Call', 'Email')

),

meetings as (

    select
        event_id as interaction_id,
        what_id as opportunity_id,
        owner_id,
        'meeting' as interaction_type,
        subject,
        started_at as interaction_at,
        cast(started_at as date) as interaction_date
    from events

),

unioned as (

    select * from calls_and_emails
    union all
    select * from meetings

),

final as (

    select unioned.*
    from unioned
    inner join opportunities
        on unioned.opportunity_id = opportunities.opportunity_id
    where unioned.interaction_date is not null

)

select * from final
