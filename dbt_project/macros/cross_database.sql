{#- Engine differences, each behind adapter.dispatch so models stay one copy. -#}

{#- ISO day of week: 1 = Monday ... 7 = Sunday. -#}
{% macro iso_day_of_week(date_expr) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'revops_warehouse')(date_expr)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expr) -%}
    cast(extract(isodow from {{ date_expr }}) as integer)
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expr) -%}
    (((dayofweek({{ date_expr }}) + 5) % 7) + 1)
{%- endmacro %}

{#- Median of an aggregate group. -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'revops_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__median(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro spark__median(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}

{#- A list var rendered as a SQL list of lower-cased string literals: ('a', 'b'). -#}
{% macro sql_string_list(values) -%}
    ({% for value in values %}'{{ dbt.escape_single_quotes(value | string | lower) }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- Days from start_date to end_date (end - start), for date-typed expressions. -#}
{% macro days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{#- An 8-byte float for money and rates (dbt.type_float() is a 4-byte FLOAT on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'revops_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#- A text column type the contracts' `varchar` matches: Spark has no unsized varchar. -#}
{% macro type_varchar() -%}
    {{ return(adapter.dispatch('type_varchar', 'revops_warehouse')()) }}
{%- endmacro %}

{% macro default__type_varchar() -%}
    varchar
{%- endmacro %}

{% macro spark__type_varchar() -%}
    string
{%- endmacro %}

{#- DESIGN.md's "has next step" on a day: next_step not blank, not a vague phrase
    (var vague_next_step_phrases, case-insensitive, whole text) and dated that day or
    later. False, never null. The one definition every model uses. `date_tracked`: a
    boolean SQL expression, false when the CRM has no next-step date (then the text
    alone decides, DESIGN.md "Not tracked means unknown"); default true. -#}
{% macro has_next_step(next_step, next_step_date, on_date, date_tracked='true') -%}
    coalesce(
        {{ next_step }} is not null
        and trim({{ next_step }}) <> ''
        and lower(trim({{ next_step }})) not in {{ sql_string_list(var('vague_next_step_phrases')) }}
        and ({{ next_step_date }} >= {{ on_date }} or not {{ date_tracked }}),
        false
    )
{%- endmacro %}

{#- A list var rendered as a SQL list of string literals, case kept: ('A', 'B'). -#}
{% macro sql_literal_list(values) -%}
    ({% for value in values %}'{{ dbt.escape_single_quotes(value | string) }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- How an incremental model replaces whole days: delete+insert on the unique key where
    the engine can delete rows; on Spark (Parquet, no DELETE) the table is partitioned
    by the day and insert_overwrite replaces the partitions a run writes. -#}
{% macro replace_days_strategy() -%}
    {{ return(adapter.dispatch('replace_days_strategy', 'revops_warehouse')()) }}
{%- endmacro %}

{% macro default__replace_days_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__replace_days_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro replace_days_partition_by(day_column) -%}
    {{ return(adapter.dispatch('replace_days_partition_by', 'revops_warehouse')(day_column)) }}
{%- endmacro %}

{% macro default__replace_days_partition_by(day_column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__replace_days_partition_by(day_column) -%}
    {{ return([day_column]) }}
{%- endmacro %}

{#- The statement that removes the rows of `relation` dated after `last_day`. On Spark,
    the day partitions after it are dropped (its DROP PARTITION takes equalities only). -#}
{% macro delete_days_after(relation, day_column, last_day) -%}
    {{ return(adapter.dispatch('delete_days_after', 'revops_warehouse')(relation, day_column, last_day)) }}
{%- endmacro %}

{% macro default__delete_days_after(relation, day_column, last_day) -%}
    delete from {{ relation }} where {{ day_column }} > {{ last_day }}
{%- endmacro %}

{% macro spark__delete_days_after(relation, day_column, last_day) -%}
    {%- set days = [] -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select distinct cast(" ~ day_column ~ " as string) from " ~ relation
            ~ " where " ~ day_column ~ " > " ~ last_day
        ) -%}
        {%- set days = found.columns[0].values() -%}
    {%- endif -%}
    {%- if days | length > 0 -%}
        alter table {{ relation }} drop if exists
        {% for day in days %}partition ({{ day_column }} = '{{ day }}'){{ ', ' if not loop.last }}{% endfor %}
    {%- else -%}
        select 0 as days_dropped
    {%- endif -%}
{%- endmacro %}

{#- fct_deal_snapshots: incremental where the engine can delete rows; on Spark (Parquet,
    no DELETE) a table rebuilt at every run, so deleted deals and late changes never
    leave stale days there either. -#}
{% macro deal_snapshots_materialization() -%}
    {{ return(adapter.dispatch('deal_snapshots_materialization', 'revops_warehouse')()) }}
{%- endmacro %}

{% macro default__deal_snapshots_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__deal_snapshots_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- The last day an incremental fct_deal_snapshots keeps as it is: max(snapshot_date) -
    snapshot_lookback_days, read before the run changes anything (the model's SQL and its
    pre-hook both call this before either runs). None outside an incremental run. -#}
{% macro deal_snapshots_kept_until(relation) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query("select max(snapshot_date) from " ~ relation) -%}
    {%- set last_day = found.columns[0].values()[0] if found is not none else none -%}
    {%- if last_day is none -%}
        {%- set last_day = modules.datetime.date.fromisoformat(var('calendar_start_date')) -%}
    {%- elif last_day is string -%}
        {%- set last_day = modules.datetime.date.fromisoformat(last_day[:10]) -%}
    {%- elif last_day.date is defined and last_day.hour is defined -%}
        {%- set last_day = last_day.date() -%}
    {%- endif -%}
    {{ return((last_day - modules.datetime.timedelta(days=var('snapshot_lookback_days'))).isoformat()) }}
{%- endmacro %}

{#- The pre-hook of an incremental fct_deal_snapshots: remove every row the run rebuilds
    (the days after `kept_until`, every day of the deals modified after it) and every row
    of a deal that is no longer in `deals` (soft-deleted, or gone from a full extract),
    so the snapshots always hold the deals the dimensions hold. -#}
{% macro delete_rebuilt_deal_snapshots(relation, deals, kept_until) -%}
    {%- if kept_until is none -%}
        select 1 as nothing_to_delete
    {%- else -%}
        delete from {{ relation }}
        where snapshot_date > cast('{{ kept_until }}' as date)
            or opportunity_id in (
                select opportunity_id from {{ deals }}
                where cast(last_modified_at as date) > cast('{{ kept_until }}' as date)
            )
            or opportunity_id not in (select opportunity_id from {{ deals }})
    {%- endif -%}
{%- endmacro %}
