with

source as (

    select * from {{ source('salesforce', 'account') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as account_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,

        cast(name as {{ dbt.type_string() }}) as account_name,
        cast(industry as {{ dbt.type_string() }}) as industry,
        cast(billing_country as {{ dbt.type_string() }}) as billing_country,

        cast(number_of_employees as {{ dbt.type_bigint() }}) as employee_count,
        cast(annual_revenue as {{ type_double() }}) as annual_revenue_amount,

        cast(created_date as {{ dbt.type_timestamp() }}) as created_at

    from source

),

deduplicated as (

    select
        *,
        row_number() over (partition by account_id order by created_at desc) as row_num
    from renamed

),

final as (

    select
        account_id,
        owner_id,
        account_name,
        industry,
        billing_country,
        employee_count,
        annual_revenue_amount,
        created_at
    from deduplicated
    where row_num = 1

)

select * from final
