{{
    config(
        materialized=changed_rows_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        post_hook="{{ record_changed_rows_state(this) }}",
        pre_hook="{{ delete_changed_rows(this, changed_rows_since(this, source('salesforce', 'event')), [('event_id', source('salesforce', 'event'))]) }}"
    )
}}

{%- set since = changed_rows_since(this, source('salesforce', 'event')) %}

-- Incremental (macros/changed_rows.sql): a daily run takes the raw rows of the ids the
-- loader changed since the last build (`_loaded_at`), a deleted one included, and gives
-- them the rows a full rebuild gives; a table on Spark.

with

source as (

    select * from {{ source('salesforce', 'event') }}
    {% if since is not none %}
        where cast(id as {{ dbt.type_string() }}) in ({{ changed_ids(source('salesforce', 'event'), since) }})
    {% endif %}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as event_id,
        cast(what_id as {{ dbt.type_string() }}) as what_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,

        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(type as {{ dbt.type_string() }}) as event_type,

        coalesce(cast(is_deleted as {{ dbt.type_boolean() }}), false) as is_deleted,

        cast(start_date_time as {{ dbt.type_timestamp() }}) as started_at,
        cast(end_date_time as {{ dbt.type_timestamp() }}) as ended_at,
        cast(created_date as {{ dbt.type_timestamp() }}) as created_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at

    from source

),

deduplicated as (

    select
        *,
        row_number() over (partition by event_id order by created_at desc) as row_num
    from renamed
    where not is_deleted

),

final as (

    select
        event_id,
        what_id,
        owner_id,
        subject,
        event_type,
        started_at,
        ended_at,
        created_at,
        _loaded_at
    from deduplicated
    where row_num = 1

)

select * from final
