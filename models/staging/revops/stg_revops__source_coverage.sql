{#- One row per contract object x column: what the source had. Read from
    raw._source_coverage when the ingestion wrote it; without it (bare dbt runs, old
    warehouses) every contract column counts as tracked, with the row count of the
    object's staging model, as before coverage was recorded. -#}
-- depends_on: {{ source('revops', '_source_coverage') }}
{%- set coverage = revops_source_coverage_relation() %}
{%- set contract = revops_contract_columns() %}
{%- set staging_models = revops_contract_staging_models() %}

with

{% if coverage is not none %}

recorded as (

    select
        lower(trim(cast(object_name as {{ dbt.type_string() }}))) as object_name,
        lower(trim(cast(column_name as {{ dbt.type_string() }}))) as column_name,
        coalesce(cast(is_tracked as boolean), false) as is_tracked,
        cast(coalesce(row_count, 0) as {{ dbt.type_bigint() }}) as row_count,
        cast(mapped_from as {{ dbt.type_string() }}) as mapped_from,
        cast(source as {{ dbt.type_string() }}) as source_kind,
        true as is_recorded
    from {{ coverage }}

),

{% else %}

row_counts as (
    {%- for object_name, model_name in staging_models.items() %}
    select '{{ object_name }}' as object_name, count(*) as row_count from {{ ref(model_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

contract_columns as (
    {%- for object_name, columns in contract.items() %}
    {%- for column_name in columns %}
    select '{{ object_name }}' as object_name, '{{ column_name }}' as column_name
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

recorded as (

    select
        cast(contract_columns.object_name as {{ dbt.type_string() }}) as object_name,
        cast(contract_columns.column_name as {{ dbt.type_string() }}) as column_name,
        true as is_tracked,
        cast(row_counts.row_count as {{ dbt.type_bigint() }}) as row_count,
        cast(null as {{ dbt.type_string() }}) as mapped_from,
        cast(null as {{ dbt.type_string() }}) as source_kind,
        false as is_recorded
    from contract_columns
    inner join row_counts
        on contract_columns.object_name = row_counts.object_name

),

{% endif %}

final as (

    select
        object_name,
        column_name,
        is_tracked,
        row_count,
        mapped_from,
        source_kind,
        is_recorded
    from recorded

)

select * from final
