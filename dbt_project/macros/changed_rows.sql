{#-
    Incremental staging of the large raw objects (task, event, opportunity_history): a run
    takes only the raw rows the loader changed since the last build.

    The change marker is raw's `_loaded_at`: the loader (revops/landing) sets it on every row
    it inserts or changes, a soft delete included (a row gone from a full file, a change
    file's deleted row), and keeps it on rows a load leaves as they were; a reload from
    every file (the first load, `--full-refresh`, a file the loader cannot merge) and the
    connector sources (revops/sources/conform.py) rewrite every row with the load's time.

    The model stores each row's `_loaded_at`; the watermark is its max, read once before the
    run changes anything (the model's SQL and its pre-hook both call `changed_rows_since`
    before either runs, as fct_deal_snapshots reads deal_snapshots_kept_until). A run then
    1. deletes every stored row of an id raw changed after the watermark (and, for history,
       of a deal raw changed: a soft-deleted deal takes its history with it), then
    2. appends the live rows the full model gives for those ids, deduplicated the same way.
    Ids nobody changed keep their rows, which a full rebuild computes the same. Any
    watermark no later than the last build's load is correct (a lower one re-takes rows
    already stored, which step 1 deletes first), so a build after a load that only deleted
    rows is safe. When every raw row is newer than the watermark (a reload, which may have
    dropped ids) or the model holds no rows, the run deletes everything and takes all of
    raw: the result of a full rebuild. `--full-refresh` and a new model rebuild as tables.
    On Spark (Parquet, no DELETE) the models are tables, rebuilt at every run.
-#}

{% macro changed_rows_materialization() -%}
    {{ return(deal_snapshots_materialization()) }}
{%- endmacro %}

{#- The `_loaded_at` after which raw rows are taken, as an ISO timestamp string; none on a
    full build, a first build, an empty model, a model whose SQL changed since its rows were
    built (its checksum in `<model>__revops_state`, with `key`: what else the rows depend on,
    as record_changed_rows_state stored it), or when `source_relation` was reloaded since
    (every row newer than the watermark). The watermark is the model's max(`_loaded_at`),
    or with `stored_watermark` the raw `_loaded_at` its last build had taken, stored beside
    the checksum (a model whose rows carry no `_loaded_at`; record_changed_rows_state's
    `loaded_from`). -#}
{% macro changed_rows_since(relation, source_relation, key='', stored_watermark=false) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = changed_rows_state_relation(relation) -%}
    {%- if adapter.get_relation(state.database, state.schema, state.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored = run_query(
        "select model_checksum from " ~ state ~ " where model_name = '" ~ relation.identifier ~ "'"
    ).columns[0].values() -%}
    {%- if stored | length != 1 or stored[0] != model.checksum.checksum ~ key -%}
        {#- the model's SQL (or its key) changed since the rows were built: rebuild them all -#}
        {{ return(none) }}
    {%- endif -%}
    {%- if stored_watermark -%}
        {%- set found = run_query(
            "select loaded_until from " ~ state ~ " where model_name = '" ~ relation.identifier ~ "'"
        ) -%}
    {%- else -%}
        {%- set found = run_query("select max(_loaded_at) from " ~ relation) -%}
    {%- endif -%}
    {%- set watermark = found.columns[0].values()[0] if found is not none else none -%}
    {%- if watermark is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = watermark | string -%}
    {%- set reloaded = run_query(
        "select count(*) from " ~ source_relation
        ~ " where _loaded_at <= cast('" ~ since ~ "' as " ~ dbt.type_timestamp() ~ ")"
    ) -%}
    {%- if reloaded.columns[0].values()[0] | int == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(since) }}
{%- endmacro %}

{#- Where each incremental staging model records the checksum of the SQL that built its
    rows (a post-hook): a one-row table beside it, `<model>__revops_state` (one per model, so
    models built on parallel threads never write the same table). A changed model rebuilds
    all its rows. -#}
{% macro changed_rows_state_relation(relation) -%}
    {{ return(api.Relation.create(database=relation.database, schema=relation.schema, identifier=relation.identifier ~ '__revops_state')) }}
{%- endmacro %}

{#- The post-hook recording the model's checksum (nothing on Spark, where the models are
    tables rebuilt at every run), followed by `key` (see changed_rows_since), and with
    `loaded_from` (raw relations) the latest `_loaded_at` among them: what this build took,
    the next one's watermark (`stored_watermark`). -#}
{% macro record_changed_rows_state(relation, key='', loaded_from=[]) -%}
    {%- if changed_rows_materialization() != 'incremental' -%}
        select 1 as nothing_to_record
    {%- else -%}
        {%- set state = changed_rows_state_relation(relation) -%}
        create table if not exists {{ state }} (
            model_name {{ dbt.type_string() }}, model_checksum {{ dbt.type_string() }}
            {%- if loaded_from %}, loaded_until {{ dbt.type_timestamp() }}{% endif %}
        );
        delete from {{ state }};
        insert into {{ state }} (model_name, model_checksum{{ ', loaded_until' if loaded_from }})
        select
            '{{ relation.identifier }}', '{{ model.checksum.checksum ~ key }}'
            {%- if loaded_from %},
            (
                select max(loaded_at) from (
                    {%- for source_relation in loaded_from %}
                    {{ 'union all ' if not loop.first }}select max(_loaded_at) as loaded_at from {{ source_relation }}
                    {%- endfor %}
                ) as loads
            )
            {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#- SQL: the ids of `source_relation` (its `key` column) changed after `since`. -#}
{% macro changed_ids(source_relation, since, key='id') -%}
    select cast({{ key }} as {{ dbt.type_string() }}) from {{ source_relation }}
    where _loaded_at > cast('{{ since }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The pre-hook: in an incremental run, delete the rows of the changed ids (`changed`: a
    list of (column of the model, raw relation) pairs: the model's rows whose column holds
    an id the raw relation changed; `also`: more conditions, SQL, on the rows to delete), or
    every row when `since` is none. -#}
{% macro delete_changed_rows(relation, since, changed, also=[]) -%}
    {%- if not is_incremental() -%}
        select 1 as nothing_to_delete
    {%- elif since is none -%}
        delete from {{ relation }}
    {%- else -%}
        {%- set conditions = [] -%}
        {%- for column, source_relation in changed -%}
            {%- do conditions.append(column ~ ' in (' ~ changed_ids(source_relation, since) ~ ')') -%}
        {%- endfor -%}
        delete from {{ relation }}
        where
        {%- for condition in conditions + also %}
            {{ 'or ' if not loop.first }}{{ condition }}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{#-
    Data tests that cost what changed. A test of an incremental model configured with
    `where: "revops_test_window <column>"` (or `revops_test_window_days <date column>`)
    checks, on a daily run, only the rows that run can have changed, and the whole table
    otherwise (dbt renders no project macro in a test's `where`, so get_where_subquery
    below turns these words into the filter when the test runs):
    - the window start is var('revops_test_window_start'), else the environment's
      REVOPS_TEST_WINDOW_START (how the pipeline passes it on a daily run: the load time of
      the run's ingestion; read only when dbt executes, so partial parsing survives a new
      value, as for as_of_date); none (the default, and always on --full-refresh) tests
      the whole table;
    - on the ISO weekday var('revops_full_tests_isodow') of as_of_date (default 7, Sunday;
      null: never) the whole table is tested anyway, so a row changed outside any window
      is checked at least once a week.
    `revops_test_window` keeps the rows whose `<column>` (a `_loaded_at`) is on or after the
    window start; `revops_test_window_days` the days from as_of_date -
    snapshot_lookback_days on, those an incremental fct_deal_snapshots rebuilds every day.
-#}
{% macro revops_test_window_start() -%}
    {%- if flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set value = var('revops_test_window_start', none) -%}
    {%- if (value is none or (value | string | trim) == '') and execute -%}
        {%- set value = env_var('REVOPS_TEST_WINDOW_START', '') -%}
    {%- endif -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set full_day = var('revops_full_tests_isodow', 7) -%}
    {%- set as_of = modules.datetime.date.fromisoformat(as_of_date_string()) -%}
    {%- if full_day is not none and as_of.isoweekday() == full_day | int -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(value | string | trim) }}
{%- endmacro %}

{% macro revops_test_window(column, days=false) -%}
    {%- set start = revops_test_window_start() -%}
    {%- if start is none -%}
        {{ return('') }}
    {%- elif days -%}
        {{ return(column ~ " >= cast(" ~ dbt.dateadd('day', -1 * var('snapshot_lookback_days'), as_of_date()) ~ " as date)") }}
    {%- else -%}
        {{ return(column ~ " >= cast('" ~ start ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
    {%- endif -%}
{%- endmacro %}

{#- dbt's get_where_subquery, with the test window: a `where` of "revops_test_window <column>"
    or "revops_test_window_days <column>" becomes revops_test_window(column) (the whole
    relation outside a window); any other `where` is applied as dbt applies it. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') or '' -%}
    {%- set words = where.split() -%}
    {%- if words | length == 2 and words[0] in ('revops_test_window', 'revops_test_window_days') -%}
        {%- set where = revops_test_window(words[1], days=(words[0] == 'revops_test_window_days')) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}
