{#-
    dbt snapshots on Spark without Delta Lake.

    dbt-spark's snapshot materialization refuses any file format but delta, iceberg or
    hudi, because it applies the changes with MERGE INTO. A local Spark (pyspark from
    PyPI, no Maven) has none of them, so this one, for the spark adapter only, applies
    the same changes by rewriting the table: the current versions that changed or
    vanished get their dbt_valid_to, new versions are appended, the result is written
    beside the table and swapped in. dbt's own strategy and staging macros decide what
    changed, exactly as on the other engines. On Databricks (dbt-databricks, Delta),
    this macro is not used.

    Cost: the whole snapshot table is rewritten at each run; it holds one row per
    change of a deal's state, small next to the marts.
-#}
{% materialization snapshot, adapter='spark' %}

    {%- set target_table = model.get('alias', model.get('name')) -%}
    {%- set strategy_name = config.get('strategy') -%}
    {%- set grant_config = config.get('grants') -%}

    {% set target_relation_exists, target_relation = get_or_create_relation(
        database=none,
        schema=model.schema,
        identifier=target_table,
        type='table') -%}

    {% if not adapter.check_schema_exists(model.database, model.schema) %}
        {% do create_schema(model.schema) %}
    {% endif %}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% set strategy_macro = strategy_dispatch(strategy_name) %}
    {% set strategy = strategy_macro(model, "snapshotted_data", "source_data", model['config'], target_relation_exists) %}

    {% if not target_relation_exists %}

        {% set build_sql = build_snapshot_table(strategy, model['compiled_code']) %}
        {% call statement('main') %}
            {{ create_table_as(False, target_relation, build_sql) }}
        {% endcall %}

    {% else %}

        {% set columns = config.get("snapshot_table_column_names") or get_snapshot_table_column_names() %}
        {{ adapter.valid_snapshot_target(target_relation, columns) }}
        {% set staging_table = spark_build_snapshot_staging_table(strategy, sql, target_relation) %}

        {% set missing_columns = adapter.get_missing_columns(staging_table, target_relation)
            | rejectattr('name', 'in', ['dbt_change_type', 'DBT_CHANGE_TYPE', 'dbt_unique_key', 'DBT_UNIQUE_KEY'])
            | list %}
        {% do create_columns(target_relation, missing_columns) %}

        {% set target_columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | list %}
        {% set rewritten_sql %}
            select
                {% for column in target_columns -%}
                {% if column | lower == columns.dbt_valid_to | lower -%}
                case
                    when changes.{{ columns.dbt_scd_id }} is not null then changes.{{ columns.dbt_valid_to }}
                    else current_table.{{ columns.dbt_valid_to }}
                end as {{ adapter.quote(column) }}
                {%- else -%}
                current_table.{{ adapter.quote(column) }}
                {%- endif %}{{ ',' if not loop.last }}
                {% endfor %}
            from {{ target_relation }} as current_table
            left join (
                select {{ columns.dbt_scd_id }}, {{ columns.dbt_valid_to }}
                from {{ staging_table }}
                where dbt_change_type in ('update', 'delete')
            ) as changes
                on changes.{{ columns.dbt_scd_id }} = current_table.{{ columns.dbt_scd_id }}
                and current_table.{{ columns.dbt_valid_to }} is null

            union all

            select
                {% for column in target_columns -%}
                {{ adapter.quote(column) }}{{ ',' if not loop.last }}
                {% endfor %}
            from {{ staging_table }}
            where dbt_change_type = 'insert'
        {% endset %}

        {% set rewritten_relation = target_relation.incorporate(path={"identifier": target_table ~ '__dbt_rewritten'}) %}
        {% do adapter.drop_relation(rewritten_relation) %}
        {% call statement('main') %}
            {{ create_table_as(False, rewritten_relation, rewritten_sql) }}
        {% endcall %}
        {% do adapter.drop_relation(target_relation) %}
        {% do adapter.rename_relation(rewritten_relation, target_relation) %}

    {% endif %}

    {% set should_revoke = should_revoke(target_relation_exists, full_refresh_mode) %}
    {% do apply_grants(target_relation, grant_config, should_revoke) %}
    {% do persist_docs(target_relation, model) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {% if staging_table is defined %}
        {% do post_snapshot(staging_table) %}
    {% endif %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}


{#-
    Seeds on Spark's session mode: dbt-spark binds each CSV value as '<value>' without
    escaping, so a value with a quote ("New Year's Day" in the holiday calendar) breaks
    the insert, and an empty cell arrives as the text 'None'. This load writes the
    values as SQL literals instead: NULL for empty cells, strings with quotes and
    backslashes escaped the way Spark SQL reads them.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {% set column_override = model['config'].get('column_types', {}) %}
    {% set statements = [] %}
    {% for chunk in agate_table.rows | batch(get_batch_size()) %}
        {% set sql %}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- set value = row[loop.index0] -%}
                    {%- if value is none -%}
                        cast(null as {{ type }})
                    {%- elif value is sameas true or value is sameas false -%}
                        cast({{ 'true' if value else 'false' }} as {{ type }})
                    {%- elif value is number -%}
                        cast({{ value }} as {{ type }})
                    {%- else -%}
                        cast('{{ (value | string).replace('\\', '\\\\').replace("'", "\\'") }}' as {{ type }})
                    {%- endif -%}
                    {%- if not loop.last %},{%- endif %}
                {%- endfor -%}){%- if not loop.last %},{%- endif %}
            {%- endfor %}
        {% endset %}
        {% do adapter.add_query(sql, abridge_sql_log=True) %}
        {% if loop.index0 == 0 %}
            {% do statements.append(sql) %}
        {% endif %}
    {% endfor %}
    {{ return(statements[0]) }}
{% endmacro %}
