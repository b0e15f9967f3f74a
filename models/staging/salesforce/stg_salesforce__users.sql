with

source as (

    select * from {{ source('salesforce', 'user') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as user_id,
        cast(manager_id as {{ dbt.type_string() }}) as manager_id,

        cast(name as {{ dbt.type_string() }}) as user_name,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(department as {{ dbt.type_string() }}) as team,
        cast(title as {{ dbt.type_string() }}) as title,

        coalesce(cast(is_active as {{ dbt.type_boolean() }}), false) as is_active,

        cast(created_date as {{ dbt.type_timestamp() }}) as created_at

    from source

),

deduplicated as (

    select
        *,
        row_number() over (partition by user_id order by created_at desc) as row_num
    from renamed

),

final as (

    select
        user_id,
        manager_id,
        user_name,
        email,
        team,
        title,
        is_active,
        created_at
    from deduplicated
    where row_num = 1

)

select * from final
