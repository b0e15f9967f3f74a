"""The same dbt project on PostgreSQL: same raw data in, same marts out.

A real PostgreSQL server is started for the session (initdb into a temporary folder,
127.0.0.1 on a free port; as the `postgres` user when the tests run as root, since
PostgreSQL refuses to run as root) and always stopped at the end. The demo raw tables
that `demo_warehouse` loaded into DuckDB are copied over with
`revops.warehouse_targets.copy_raw_to_postgres`, `dbt build --target postgres` runs
with the same as_of_date (then the incremental model and the snapshot once more, as a
daily run would), and every mart of `models/marts` is compared with DuckDB's, row by
row on its grain.

Skipped only when the PostgreSQL server binaries are not installed
(`apt-get install postgresql`); CI installs them, so there it always runs.
"""

from __future__ import annotations

import duckdb
import pytest
from mart_comparison import MART_NAMES, assert_build_ran_every_node, assert_same_mart, mart_grains, table_rows
from postgres_server import create_database as _create_database

# --------------------------------------------------------------------------- copying


def test_raw_tables_arrive_with_the_same_columns_types_and_rows(postgres_warehouse, demo_warehouse):
    from revops.warehouse_targets import postgres_type

    duck_columns = demo_warehouse.query(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' order by table_name, ordinal_position"
    )
    _, pg_columns = postgres_warehouse.query(
        "select table_name, column_name, "
        "case when data_type = 'ARRAY' then format_type(a.atttypid, a.atttypmod) else data_type end "
        "from information_schema.columns c "
        "join pg_attribute a on a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass "
        "and a.attname = c.column_name "
        "where table_schema = 'raw' order by table_name, ordinal_position"
    )
    pg_names = {"timestamp": "timestamp without time zone", "text[]": "text[]"}
    expected = [(t, c, pg_names.get(postgres_type(k), postgres_type(k))) for t, c, k in duck_columns]
    assert pg_columns == expected

    for copied in postgres_warehouse.copied:
        schema, table = copied.table.split(".")
        duck_count = demo_warehouse.scalar(f'select count(*) from "{schema}"."{table}"')
        _, [(pg_count,)] = postgres_warehouse.query(f'select count(*) from "{schema}"."{table}"')
        assert copied.row_count == duck_count == pg_count > 0, copied.table


def test_copy_keeps_awkward_values_exactly(postgres_warehouse):
    from revops.warehouse_targets import copy_raw_to_postgres

    con = duckdb.connect()
    con.execute("create schema roundtrip")
    con.execute(
        """
        create table roundtrip.awkward as
        select * from (values
            (1, '', 0.1::double + 0.2::double, timestamp '2026-01-31 23:59:59.123456',
             date '1999-12-31', true, ['a', 'b"c', null, 'd\\e', '']::varchar[]),
            (2, null, 5e-324::double, null, null, null, null),
            (3, 'quote " comma , newline' || chr(10) || 'return' || chr(13) || 'end', 1.7976931348623157e308::double,
             timestamp '1970-01-01 00:00:00', date '2040-12-31', false, []::varchar[]),
            (9223372036854775807, ' padded ', -0.0::double, timestamp '2026-11-23 00:00:00.000001',
             date '2026-11-23', false, ['NULL']::varchar[]),
            (5, 'héllo ✓ 日本', 1234567.891011::double, null, null, true, [null]::varchar[]),
            (6, '\\N', null, null, null, null, null)
        ) as t(id, label, amount, happened_at, happened_date, is_flag, tags)
        """
    )
    con.execute("alter table roundtrip.awkward alter id type bigint")
    copied = copy_raw_to_postgres(con, postgres_warehouse.dsn, raw_schema="roundtrip")
    assert [(c.table, c.row_count) for c in copied] == [("roundtrip.awkward", 6)]

    duck_rows = con.execute("select * from roundtrip.awkward order by id").fetchall()
    _, pg_rows = postgres_warehouse.query("select * from roundtrip.awkward order by id")
    assert pg_rows == duck_rows
    # bit for bit, and the sign of zero too
    assert [repr(r[2]) for r in pg_rows] == [repr(r[2]) for r in duck_rows]


# --------------------------------------------------------------------------- dbt


def test_dbt_build_ran_every_node_on_postgres(postgres_warehouse):
    assert_build_ran_every_node(*postgres_warehouse.run_results)


@pytest.mark.parametrize("mart", MART_NAMES)
def test_mart_matches_duckdb(mart, postgres_warehouse, demo_warehouse):
    grains = mart_grains(postgres_warehouse.target_path)
    assert mart in grains, f"{mart} is not a model of models/marts in the manifest"
    schema, table, grain = grains[mart]
    sql = f'select * from "{schema}"."{table}"'
    with duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as con:
        duck = table_rows(con, sql)
    assert_same_mart(mart, grain, duck, postgres_warehouse.query(sql), "PostgreSQL")


# --------------------------------------------------------------------------- the pipeline


def test_pipeline_with_the_postgres_setting_builds_and_publishes_there_and_a_failed_gate_publishes_nothing(
    postgres_server, demo_landing_dir, demo_warehouse, tmp_path, monkeypatch, capsys
):
    """REVOPS_DBT_TARGET=postgres: the same pipeline (`revops run`) loads the files in
    DuckDB, copies the raw tables to PostgreSQL, gates them there (GX's SQL datasource for
    PostgreSQL), runs dbt there and publishes there: schema revops_served holds every mart,
    equal to what dbt built on DuckDB from the same files, with the publish log and the
    alerts beside it; no mart comes back into the DuckDB build file, nothing goes to the
    serving folder. A second run whose raw gate fails in PostgreSQL (a deal of an unknown
    owner, a negative amount) runs no dbt model and publishes nothing: readers keep the
    first publish, and the alert names the table, the check, the rows and their lines.
    (Two pipeline runs: the second stops at the raw gate, after the copy, before dbt.)"""
    import shutil

    import dagster as dg
    import psycopg2

    from revops import state
    from revops.publish import served_path
    from revops.settings import Settings
    from revops_app.pipeline import run_pipeline

    database = "revops_pipeline"
    _create_database(postgres_server, database)
    for key, value in {
        "REVOPS_DBT_TARGET": "postgres",
        "REVOPS_PG_HOST": postgres_server.host,
        "REVOPS_PG_PORT": str(postgres_server.port),
        "REVOPS_PG_USER": postgres_server.user,
        "REVOPS_PG_PASSWORD": "",
        "REVOPS_PG_DATABASE": database,
        "REVOPS_ALERT_WEBHOOK_URL": "",
    }.items():
        monkeypatch.setenv(key, value)
    settings = Settings(
        landing_dir=demo_landing_dir,
        warehouse_path=tmp_path / "build.duckdb",
        as_of_date=demo_warehouse.as_of_date,
        serve_dir=tmp_path / "serve",
    )
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_pipeline(settings, instance=instance) == 0
    first_output = capsys.readouterr().out
    assert "raw gate" in first_output and "ran in PostgreSQL (database revops_pipeline" in first_output

    def pg(sql: str) -> tuple[list[str], list[tuple]]:
        with psycopg2.connect(postgres_server.dsn(database)) as con, con.cursor() as cur:
            cur.execute(sql)
            return [c.name for c in cur.description], cur.fetchall()

    # BI reads in PostgreSQL what DuckDB builds from the same files
    grains = mart_grains(demo_warehouse.target_path)
    _, served_tables = pg("select tablename from pg_tables where schemaname = 'revops_served'")
    assert {t for (t,) in served_tables} == {*MART_NAMES, "served_publish"}
    with duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as duck:
        for mart in MART_NAMES:
            schema, table, grain = grains[mart]
            assert_same_mart(
                mart,
                grain,
                table_rows(duck, f'select * from "{schema}"."{table}"'),
                pg(f'select * from revops_served."{table}"'),
                "PostgreSQL, published by the pipeline",
            )
    _, log = pg("select publish_id, as_of_date, mart_count from revops_served_history.publish_log")
    [(publish_id, as_of, mart_count)] = log
    assert (as_of, mart_count) == (demo_warehouse.as_of_date, len(MART_NAMES))
    assert pg("select publish_id from revops_served.served_publish")[1] == [(publish_id,)]
    _, alerts = pg("select kind, count(*) from revops_served_history.alerts group by kind")
    assert dict(alerts).get("hygiene_digest", 0) > 0  # the digest, worded from the PostgreSQL mart
    assert state.has_publish(settings.state_path(), publish_id)  # the gate's baseline
    # nothing came back into DuckDB, nothing went to the serving folder
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as build:
        schemas = {
            r[0] for r in build.execute("select schema_name from information_schema.schemata").fetchall()
        }
    assert "marts" not in schemas and "raw" in schemas
    assert not served_path(settings.serve_dir).exists()

    # a failed raw gate: nothing published, readers keep the first publish
    broken = tmp_path / "landing"
    shutil.copytree(demo_landing_dir, broken)
    path = broken / "opportunity.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[39].split(",")
    fields[2] = "005000000000007777"  # an owner_id no user has
    lines[39] = ",".join(fields)
    fields = lines[41].split(",")
    fields[5] = "-250"  # a negative amount
    lines[41] = ",".join(fields)
    path.write_text("".join(lines), encoding="utf-8")
    from orchestration.dbt_assets import revops_dbt_models

    with dg.DagsterInstance.ephemeral() as instance:
        assert run_pipeline(settings.with_overrides(landing_dir=broken), instance=instance) != 0
        built = {k for k in instance.get_asset_keys() if instance.get_latest_materialization_event(k)}
    output = capsys.readouterr()
    # the gate ran in PostgreSQL on the copied bad rows, and no dbt model ran after it
    _, [(bad_rows,)] = pg(
        "select count(*) from raw.opportunity where owner_id = '005000000000007777' or amount < 0"
    )
    assert bad_rows == 2
    assert dg.AssetKey(["raw", "opportunity"]) in built  # ingested (and copied) ...
    assert dg.AssetKey("raw_gate") not in built  # ... but the gate held everything after it
    assert not built & set(revops_dbt_models.keys), sorted(k.to_user_string() for k in built)
    text = output.out + output.err
    assert "ran in PostgreSQL" in text, text[-3000:]
    assert "raw.opportunity: check owner_exists failed (blocking) - 1 failing row" in text, text[-3000:]
    assert "'005000000000007777' (opportunity.csv line 40)" in text
    assert "raw.opportunity: check amount_not_negative failed (blocking) - 1 failing row" in text
    assert "-250.0 (opportunity.csv line 42)" in text
    assert pg("select publish_id from revops_served_history.publish_log")[1] == [(publish_id,)]
    assert pg("select publish_id from revops_served.served_publish")[1] == [(publish_id,)]
    # the failed run's alert is where this target's BI reads them, without waiting for a publish
    _, failed = pg("select table_name, message from revops_served_history.alerts where kind = 'gate_failure'")
    messages = [m for t, m in failed if t == "raw.opportunity"]
    assert any("owner_exists" in m and "opportunity.csv line 40" in m for m in messages), failed
    assert any("amount_not_negative" in m and "opportunity.csv line 42" in m for m in messages), failed
    _, schemas = pg("select nspname from pg_namespace where nspname like 'revops_served%'")
    assert {s for (s,) in schemas} == {"revops_served", "revops_served_history"}


# --------------------------------------------------------------------------- no server


def test_postgres_types_of_duckdb_types():
    from revops.warehouse_targets import UnsupportedColumnType, postgres_type

    assert postgres_type("VARCHAR") == "text"
    assert postgres_type("DOUBLE") == "double precision"
    assert postgres_type("BIGINT") == "bigint"
    assert postgres_type("TIMESTAMP") == "timestamp"
    assert postgres_type("DECIMAL(18,2)") == "numeric(18, 2)"
    assert postgres_type("VARCHAR[]") == "text[]"
    with pytest.raises(UnsupportedColumnType):
        postgres_type("STRUCT(a INTEGER)")
    with pytest.raises(UnsupportedColumnType):
        postgres_type("VARCHAR[][]")


def test_connection_string_comes_from_the_dbt_profile_variables():
    from revops.warehouse_targets import postgres_dsn_from_env

    assert postgres_dsn_from_env({}) == "host='127.0.0.1' port='5432' user='postgres' dbname='revops'"
    assert (
        postgres_dsn_from_env(
            {"REVOPS_PG_HOST": "db.internal", "REVOPS_PG_PASSWORD": "it's", "REVOPS_PG_DATABASE": "crm"}
        )
        == "host='db.internal' port='5432' user='postgres' password='it\\'s' dbname='crm'"
    )
