with

source as (

    select * from {{ source('salesforce', 'task') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as task_id,
        cast(what_id as {{ dbt.type_string() }}) as what_id,
        cast(who_id as {{ dbt.type_string() }}) as who_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,

        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(task_subtype as {{ dbt.type_string() }}) as task_subtype,
        cast(type as {{ dbt.type_string() }}) as task_type,
        cast(status as {{ dbt.type_string() }}) as status,

        coalesce(cast(is_closed as {{ dbt.type_boolean() }}), false) as is_closed,
        coalesce(cast(is_deleted as {{ dbt.type_boolean() }}), false) as is_deleted,

        cast(activity_date as date) as activity_date,
        cast(created_date as {{ dbt.type_timestamp() }}) as created_at,
        cast(completed_date_time as {{ dbt.type_timestamp() }}) as completed_at

    from source

),

deduplicated as (

    select
        *,
        row_number() over (partition by task_id order by created_at desc) as row_num
    from renamed
    where not is_deleted

),

final as (

    select
        task_id,
        what_id,
        who_id,
        owner_id,
        subject,
        task_subtype,
        task_type,
        status,
        is_closed,
        activity_date,
        created_at,
        completed_at
    from deduplicated
    where row_num = 1

)

select * from final
