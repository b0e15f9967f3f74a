{{
    config(
        materialized=changed_rows_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        post_hook="{{ record_changed_rows_state(this) }}",
        pre_hook="{{ delete_changed_rows(this, changed_rows_since(this, source('salesforce', 'opportunity_history')), [('opportunity_history_id', source('salesforce', 'opportunity_history')), ('opportunity_id', source('salesforce', 'opportunity'))]) }}"
    )
}}

{%- set since = changed_rows_since(this, source('salesforce', 'opportunity_history')) %}

-- Incremental (macros/changed_rows.sql): a daily run takes the raw rows of the history ids
-- the loader changed since the last build (`_loaded_at`) and every history row of a deal
-- it changed (soft-deleted or restored), and gives them the rows a full rebuild gives; a
-- table on Spark.

with

source as (

    select * from {{ source('salesforce', 'opportunity_history') }}
    {% if since is not none %}
        where
            cast(id as {{ dbt.type_string() }})
            in ({{ changed_ids(source('salesforce', 'opportunity_history'), since) }})
            or cast(opportunity_id as {{ dbt.type_string() }})
            in ({{ changed_ids(source('salesforce', 'opportunity'), since) }})
    {% endif %}

),

deleted_opportunities as (

    -- history of a soft-deleted deal goes with the deal
    select cast(id as {{ dbt.type_string() }}) as opportunity_id
    from {{ source('salesforce', 'opportunity') }}
    where cast(is_deleted as {{ dbt.type_boolean() }})

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as opportunity_history_id,
        cast(opportunity_id as {{ dbt.type_string() }}) as opportunity_id,

        cast(stage_name as {{ dbt.type_string() }}) as stage_name,
        cast(forecast_category as {{ dbt.type_string() }}) as forecast_category,

        cast(amount as {{ type_double() }}) as amount,
        cast(probability as {{ type_double() }}) / 100.0 as crm_probability_rate,

        coalesce(cast(is_deleted as {{ dbt.type_boolean() }}), false) as is_deleted,

        cast(close_date as date) as close_date,
        cast(created_date as {{ dbt.type_timestamp() }}) as created_at,
        cast(cast(created_date as {{ dbt.type_timestamp() }}) as date) as created_date,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at

    from source

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by opportunity_history_id order by created_at desc
        ) as row_num
    from renamed
    where
        not is_deleted
        and opportunity_id not in (select deleted_opportunities.opportunity_id from deleted_opportunities)

),

final as (

    select
        opportunity_history_id,
        opportunity_id,
        stage_name,
        forecast_category,
        amount,
        crm_probability_rate,
        close_date,
        created_at,
        created_date,
        _loaded_at
    from deduplicated
    where row_num = 1

)

select * from final
