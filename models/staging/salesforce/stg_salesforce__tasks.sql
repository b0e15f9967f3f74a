{{
    config(
        materialized=changed_rows_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        post_hook="{{ record_changed_rows_state(this) }}",
        pre_hook="{{ delete_changed_rows(this, changed_rows_since(this, source('salesforce', 'task')), [('task_id', source('salesforce', 'task'))]) }}"
    )
}}

{%- set since = changed_rows_since(this, source('salesforce', 'task')) %}

-- Incremental (macros/changed_rows.sql): a daily run takes the raw rows of the ids the
-- loader changed since the last build (`_loaded_at`), a deleted one included, and gives
-- them the rows a full rebuild gives; a table on Spark.

with

source as (

    select * from {{ source('salesforce', 'task') }}
    {% if since is not none %}
        where cast(id as {{ dbt.type_string() }}) in ({{ changed_ids(source('salesforce', 'task'), since) }})
    {% endif %}

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
        cast(completed_date_time as {{ dbt.type_timestamp() }}) as completed_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at

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
        completed_at,
        _loaded_at
    from deduplicated
    where row_num = 1

)

select * from final
