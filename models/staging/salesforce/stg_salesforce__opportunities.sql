with

source as (

    select * from {{ source('salesforce', 'opportunity') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as opportunity_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,

        cast(name as {{ dbt.type_string() }}) as opportunity_name,
        cast(stage_name as {{ dbt.type_string() }}) as stage_name,
        cast(forecast_category_name as {{ dbt.type_string() }}) as forecast_category,
        cast(lead_source as {{ dbt.type_string() }}) as lead_source,
        cast(type as {{ dbt.type_string() }}) as opportunity_type,
        cast(next_step as {{ dbt.type_string() }}) as next_step,
        cast(trigger_event_c as {{ dbt.type_string() }}) as trigger_event,
        lower(trim(cast(technical_fit_c as {{ dbt.type_string() }}))) as technical_fit,

        cast(amount as {{ type_double() }}) as amount,
        -- Salesforce stores probability as a percentage (0-100); shares here are 0-1
        cast(probability as {{ type_double() }}) / 100.0 as crm_probability_rate,

        coalesce(cast(is_closed as {{ dbt.type_boolean() }}), false) as is_closed,
        coalesce(cast(is_won as {{ dbt.type_boolean() }}), false) as is_won,
        coalesce(cast(is_deleted as {{ dbt.type_boolean() }}), false) as is_deleted,

        cast(close_date as date) as close_date,
        cast(next_step_date_c as date) as next_step_date,
        cast(created_date as {{ dbt.type_timestamp() }}) as created_at,
        cast(cast(created_date as {{ dbt.type_timestamp() }}) as date) as created_date,
        cast(last_modified_date as {{ dbt.type_timestamp() }}) as last_modified_at

    from source

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by opportunity_id order by last_modified_at desc
        ) as row_num
    from renamed
    where not is_deleted

),

final as (

    select
        opportunity_id,
        account_id,
        owner_id,
        opportunity_name,
        stage_name,
        forecast_category,
        lead_source,
        opportunity_type,
        next_step,
        trigger_event,
        technical_fit,
        amount,
        crm_probability_rate,
        is_closed,
        is_won,
        close_date,
        next_step_date,
        created_at,
        created_date,
        last_modified_at
    from deduplicated
    where row_num = 1

)

select * from final
