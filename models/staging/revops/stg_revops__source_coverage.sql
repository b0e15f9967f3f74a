-- One row per contract object x column: what the source had. Read from
-- raw._source_coverage when the ingestion wrote it; without it (bare dbt runs, old
-- warehouses) every contract column counts as tracked, with the row count of the
-- object's staging model, as before coverage was recorded (macros/source_coverage.sql).
-- depends_on: {{ source('revops', '_source_coverage') }}

with

recorded as (

    {{ revops_source_coverage_rows() }}

),

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
