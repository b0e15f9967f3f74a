with

source as (

    select * from {{ source('salesforce', 'lead') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as lead_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(converted_opportunity_id as {{ dbt.type_string() }}) as converted_opportunity_id,

        cast(lead_source as {{ dbt.type_string() }}) as lead_source,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(company as {{ dbt.type_string() }}) as company_name,
        cast(industry as {{ dbt.type_string() }}) as industry,

        cast(number_of_employees as {{ dbt.type_bigint() }}) as employee_count,

        coalesce(cast(is_converted as {{ dbt.type_boolean() }}), false) as is_converted,
        coalesce(cast(is_deleted as {{ dbt.type_boolean() }}), false) as is_deleted,

        cast(converted_date as date) as converted_date,
        cast(created_date as {{ dbt.type_timestamp() }}) as created_at,
        cast(cast(created_date as {{ dbt.type_timestamp() }}) as date) as created_date

    from source

),

deduplicated as (

    select
        *,
        row_number() over (partition by lead_id order by created_at desc) as row_num
    from renamed
    where not is_deleted

),

final as (

    select
        lead_id,
        owner_id,
        converted_opportunity_id,
        lead_source,
        status,
        company_name,
        industry,
        employee_count,
        is_converted,
        converted_date,
        created_at,
        created_date
    from deduplicated
    where row_num = 1

)

select * from final
