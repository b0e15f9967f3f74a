-- What the source had on this run: one row per contract object x column, tracked or
-- not, the object's row count and where the column was mapped from (DESIGN.md "Real
-- CRMs"). Without raw._source_coverage (a bare dbt run) every column is tracked and the
-- row counts are those of the staging models.

with

coverage as (

    select * from {{ ref('stg_revops__source_coverage') }}

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(object_name as {{ type_varchar() }}) as object_name,
        cast(column_name as {{ type_varchar() }}) as column_name,
        is_tracked,
        cast(row_count as {{ dbt.type_bigint() }}) as row_count,
        cast(mapped_from as {{ type_varchar() }}) as mapped_from,
        -- `source` is coverage.md's name for it
        cast(source_kind as {{ type_varchar() }}) as source,  -- noqa: RF04
        is_recorded
    from coverage

)

select * from final
