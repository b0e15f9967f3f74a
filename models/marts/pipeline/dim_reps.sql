-- One row per CRM user (reps and managers): team, manager and whether anyone reports
-- to them. Deals, hygiene and forecasts roll up from owner to team through here.

with

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

managers as (

    select distinct manager_id
    from users
    where manager_id is not null

),

final as (

    select
        users.user_id as owner_id,
        users.user_name as name,
        users.email,
        users.team,
        users.manager_id,
        manager.user_name as manager_name,
        users.title,
        users.is_active,
        managers.manager_id is not null as is_manager,
        users.created_at
    from users
    left join users as manager
        on users.manager_id = manager.user_id
    left join managers
        on users.user_id = managers.manager_id

)

select * from final
