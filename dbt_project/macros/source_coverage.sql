{#- What the source had (raw._source_coverage, written by the ingestion; see
    models/staging/revops). Absent table (bare dbt runs, old warehouses): everything
    counts as tracked, as it did before coverage was recorded. -#}

{#- The contract's columns per object, as revops/crm_contract.py names them (a test
    guards that the two agree): the rows the coverage falls back to. -#}
{% macro revops_contract_columns() -%}
    {{ return({
        'user': ['id', 'name', 'email', 'manager_id', 'department', 'title', 'is_active', 'created_date'],
        'account': ['id', 'name', 'industry', 'number_of_employees', 'annual_revenue', 'billing_country',
                    'owner_id', 'created_date'],
        'opportunity': ['id', 'account_id', 'owner_id', 'name', 'stage_name', 'amount', 'close_date',
                        'created_date', 'last_modified_date', 'is_closed', 'is_won', 'forecast_category_name',
                        'probability', 'lead_source', 'type', 'next_step', 'next_step_date_c',
                        'trigger_event_c', 'technical_fit_c', 'is_deleted'],
        'opportunity_history': ['id', 'opportunity_id', 'stage_name', 'amount', 'close_date', 'probability',
                                'forecast_category', 'created_date', 'is_deleted'],
        'task': ['id', 'what_id', 'who_id', 'owner_id', 'subject', 'task_subtype', 'type', 'status',
                 'activity_date', 'created_date', 'completed_date_time', 'is_closed', 'is_deleted'],
        'event': ['id', 'what_id', 'owner_id', 'subject', 'type', 'start_date_time', 'end_date_time',
                  'created_date', 'is_deleted'],
        'lead': ['id', 'owner_id', 'lead_source', 'status', 'company', 'industry', 'number_of_employees',
                 'created_date', 'is_converted', 'converted_date', 'converted_opportunity_id', 'is_deleted'],
        'forecasting_quota': ['id', 'quota_owner_id', 'start_date', 'quota_amount'],
        'marketing_spend': ['month', 'channel', 'amount'],
        'subscription': ['id', 'account_id', 'start_date', 'end_date', 'mrr_amount'],
    }) }}
{%- endmacro %}

{#- The staging model each object's fallback row count is taken from. -#}
{% macro revops_contract_staging_models() -%}
    {{ return({
        'user': 'stg_salesforce__users',
        'account': 'stg_salesforce__accounts',
        'opportunity': 'stg_salesforce__opportunities',
        'opportunity_history': 'stg_salesforce__opportunity_history',
        'task': 'stg_salesforce__tasks',
        'event': 'stg_salesforce__events',
        'lead': 'stg_salesforce__leads',
        'forecasting_quota': 'stg_salesforce__forecasting_quotas',
        'marketing_spend': 'stg_salesforce__marketing_spend',
        'subscription': 'stg_salesforce__subscriptions',
    }) }}
{%- endmacro %}

{#- The relation of raw._source_coverage when it exists in the warehouse, else none.
    adapter.get_relation works on every adapter (on Spark in session mode too); at parse
    time nothing is looked up. -#}
{% macro revops_source_coverage_relation() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set declared = source('revops', '_source_coverage') -%}
    {{ return(adapter.get_relation(
        database=declared.database,
        schema=declared.schema,
        identifier=declared.identifier,
    )) }}
{%- endmacro %}

{#- The rows of stg_revops__source_coverage: raw._source_coverage as recorded, or, when
    it is absent, every contract column tracked with its object's staging row count.
    The refs of the second branch are rendered at parse time (nothing is looked up
    then), so the model depends on the staging models either way. -#}
{% macro revops_source_coverage_rows() -%}
    {%- set coverage = revops_source_coverage_relation() -%}
    {%- if coverage is not none %}
    select
        lower(trim(cast(object_name as {{ dbt.type_string() }}))) as object_name,
        lower(trim(cast(column_name as {{ dbt.type_string() }}))) as column_name,
        coalesce(cast(is_tracked as boolean), false) as is_tracked,
        cast(coalesce(row_count, 0) as {{ dbt.type_bigint() }}) as row_count,
        cast(mapped_from as {{ dbt.type_string() }}) as mapped_from,
        cast(source as {{ dbt.type_string() }}) as source_kind,
        true as is_recorded
    from {{ coverage }}
    {%- else %}
        {%- set staging_models = revops_contract_staging_models() %}
        {%- for object_name, columns in revops_contract_columns().items() %}
            {%- for column_name in columns %}
    select
        cast('{{ object_name }}' as {{ dbt.type_string() }}) as object_name,
        cast('{{ column_name }}' as {{ dbt.type_string() }}) as column_name,
        true as is_tracked,
        (select cast(count(*) as {{ dbt.type_bigint() }}) from {{ ref(staging_models[object_name]) }}) as row_count,
        cast(null as {{ dbt.type_string() }}) as mapped_from,
        cast(null as {{ dbt.type_string() }}) as source_kind,
        false as is_recorded
                {%- if not loop.last %}
    union all
                {%- endif %}
            {%- endfor %}
            {%- if not loop.last %}
    union all
            {%- endif %}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- int_source_tracking's pivot: whether the coverage marks object.column tracked (a
    column without a row counts as tracked), and an object's row count (0 without rows). -#}
{% macro revops_tracked_flag(object_name, column_name) -%}
    coalesce(
        max(
            case
                when object_name = '{{ object_name }}' and column_name = '{{ column_name }}'
                    then case when is_tracked then 1 else 0 end
            end
        ),
        1
    ) = 1
{%- endmacro %}

{% macro revops_object_rows(object_name) -%}
    coalesce(max(case when object_name = '{{ object_name }}' then row_count end), 0)
{%- endmacro %}
