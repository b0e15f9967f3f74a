with

source as (

    select * from {{ source('salesforce', 'forecasting_quota') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as forecasting_quota_id,
        cast(quota_owner_id as {{ dbt.type_string() }}) as owner_id,

        cast(quota_amount as {{ type_double() }}) as quota_amount,

        cast(start_date as date) as start_date

    from source

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by forecasting_quota_id order by start_date desc
        ) as row_num
    from renamed

),

final as (

    select
        forecasting_quota_id,
        owner_id,
        quota_amount,
        start_date
    from deduplicated
    where row_num = 1

)

select * from final
