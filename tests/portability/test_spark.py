"""The same dbt project on Spark: same raw data in, same marts out.

dbt-spark's session mode runs pyspark inside dbt's own process, with a local Hive
metastore (Derby) and warehouse folder in a temporary REVOPS_SPARK_DIR: the way the
project runs on a distributed engine, on one machine. The whole pipeline runs with
REVOPS_DBT_TARGET=spark on the demo files `demo_warehouse` was built from: it loads and
gates them in DuckDB, copies the raw tables to Spark, runs `dbt build` there and
publishes the marts it pulls back. Then the incremental model and the snapshot run once
more, as a daily run would, and every mart of `models/marts`, as Spark holds it and as
the pipeline published it, is compared with DuckDB's, row by row on its grain. A second day then changes one deal and deletes another in raw, and the
snapshot (which Spark without Delta Lake takes through the project's own
materialization, `dbt_project/macros/spark.sql`) must version them as dbt does.

Skipped only when no Java runtime is installed (`apt-get install openjdk-17-jre-headless`);
CI installs it, so there it always runs. `make test-spark` runs this file alone.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import run_dbt
from mart_comparison import MART_NAMES, assert_build_ran_every_node, assert_same_mart, mart_grains, table_rows

NEXT_DAY = dt.date(2026, 11, 24)


def _run_results(target_path: Path) -> list[dict]:
    return json.loads((target_path / "run_results.json").read_text())["results"]


def _export(
    tables: list[str], folder: Path, environ: dict[str, str]
) -> dict[str, tuple[list[str], list[tuple]]]:
    """Each Spark table as (columns, rows): Spark writes it to Parquet in a child
    process (`revops.spark_io export`), DuckDB reads it back."""
    from revops import spark_io

    spark_io.run("export", folder, *tables, environ=environ)
    tables_read = {}
    with duckdb.connect() as con:
        for table in tables:
            tables_read[table] = table_rows(con, f"select * from read_parquet('{folder / table}/*.parquet')")
    return tables_read


@dataclass(frozen=True)
class SparkWarehouse:
    spark_dir: Path
    target_path: Path
    serve_dir: Path
    run_results: tuple[list[dict], list[dict]]  # the full build's, the incremental rerun's
    marts: dict[str, tuple[list[str], list[tuple]]]  # as built for as_of_date
    raw_tables: dict[str, dict]  # raw table -> {"rows": n, "columns": [[column, Spark type]]}
    snapshot_day_one: tuple[list[str], list[tuple]]
    snapshot_day_two: tuple[list[str], list[tuple]]
    changed_deal: str
    deleted_deal: str


@pytest.fixture(scope="session")
def spark_warehouse(demo_warehouse, tmp_path_factory) -> SparkWarehouse:
    """The demo files of `demo_warehouse` through the pipeline with dbt on local Spark,
    then a second day of snapshot."""
    if shutil.which("java") is None:
        pytest.skip(
            "no Java runtime: install one (`apt-get install openjdk-17-jre-headless`) to run the Spark tests"
        )
    missing = [m for m in ("pyspark", "dbt.adapters.spark") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(
            f"Java is installed but {', '.join(missing)} is not importable: "
            "pip install -e '.[spark]' (make test does)"
        )
    import dagster as dg

    from revops import spark_io
    from revops.settings import Settings
    from revops.warehouse_targets import copy_raw_to_spark
    from revops_app.pipeline import run_pipeline

    work = tmp_path_factory.mktemp("spark")
    spark_dir = work / "spark"
    target_path = work / "target"
    environ = {"REVOPS_SPARK_DIR": str(spark_dir)}
    as_of = demo_warehouse.as_of_date.isoformat()
    common = {"warehouse_path": demo_warehouse.warehouse_path, "target_path": target_path}

    with pytest.MonkeyPatch.context() as env:
        env.setenv("REVOPS_SPARK_DIR", str(spark_dir))
        env.setenv("REVOPS_DBT_TARGET", "spark")
        env.setenv("REVOPS_DBT_UNIT_TESTS", "1")  # the unit tests must pass on Spark too
        env.setenv("REVOPS_ALERT_WEBHOOK_URL", "")
        env.setenv("DBT_TARGET_PATH", str(work / "pipeline-target"))
        settings = Settings(
            landing_dir=demo_warehouse.landing_dir,
            warehouse_path=work / "build.duckdb",
            as_of_date=demo_warehouse.as_of_date,
            serve_dir=work / "serve",
        )
        with dg.DagsterInstance.ephemeral() as instance:
            if run_pipeline(settings, instance=instance) != 0:
                pytest.fail("the pipeline with REVOPS_DBT_TARGET=spark failed: see its output above")
    invocation = max((work / "pipeline-target").rglob("run_results.json"), key=lambda p: p.stat().st_mtime)
    full_build = _run_results(invocation.parent)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("REVOPS_SPARK_DIR", str(spark_dir))
        run_dbt(
            ["build", "--target", "spark", "--select", "fct_deal_snapshots", "opportunity_state_snapshot"],
            dbt_vars={"as_of_date": as_of},
            **common,
        )
        rerun = _run_results(target_path)

        grains = mart_grains(target_path)
        tables = {f"{schema}.{table}": name for name, (schema, table, _) in grains.items()}
        exported = _export([*tables, "snapshots.opportunity_state_snapshot"], work / "day_one", environ)
        marts = {name: exported[table] for table, name in tables.items()}
        snapshot_day_one = exported["snapshots.opportunity_state_snapshot"]
        raw_names = [
            name
            for (name,) in demo_warehouse.query(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            )
        ]
        raw_tables = spark_io.run(
            "export", work / "raw", *(f"raw.{name}" for name in raw_names), environ=environ
        )

        # Day two: one deal gets a new next step, another disappears from the CRM.
        with duckdb.connect() as con:
            con.execute(f"attach '{demo_warehouse.warehouse_path}' as demo (read_only)")
            con.execute("create schema raw")
            con.execute("create table raw.opportunity as select * from demo.raw.opportunity order by id")
            changed, deleted = [
                row[0]
                for row in con.execute(
                    "select id from raw.opportunity where not is_closed order by id limit 2"
                ).fetchall()
            ]
            con.execute(
                "update raw.opportunity set next_step = 'Security review with their CISO' where id = ?",
                [changed],
            )
            con.execute("delete from raw.opportunity where id = ?", [deleted])
            copy_raw_to_spark(con, raw_schema="raw", tables=["opportunity"], environ=environ)
        run_dbt(
            [
                "build",
                "--target",
                "spark",
                "--select",
                "+opportunity_state_snapshot",
                "--indirect-selection",
                "cautious",
            ],
            dbt_vars={"as_of_date": NEXT_DAY.isoformat()},
            **common,
        )
        snapshot_day_two = _export(["snapshots.opportunity_state_snapshot"], work / "day_two", environ)[
            "snapshots.opportunity_state_snapshot"
        ]

    return SparkWarehouse(
        spark_dir,
        target_path,
        work / "serve",
        (full_build, rerun),
        marts,
        raw_tables,
        snapshot_day_one,
        snapshot_day_two,
        changed,
        deleted,
    )


def test_raw_tables_arrive_with_every_row_and_column(spark_warehouse, demo_warehouse):
    assert set(spark_warehouse.raw_tables) >= {"raw.opportunity", "raw.opportunity_history", "raw.task"}
    for name, described in spark_warehouse.raw_tables.items():
        schema, table = name.split(".")
        duck_columns = [
            column
            for (column,) in demo_warehouse.query(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            )
        ]
        assert [column for column, _ in described["columns"]] == duck_columns, name
        assert described["rows"] == demo_warehouse.scalar(f'select count(*) from "{schema}"."{table}"') > 0, (
            name
        )
    opportunity_types = dict(spark_warehouse.raw_tables["raw.opportunity"]["columns"])
    assert opportunity_types["amount"] == "double"
    assert opportunity_types["close_date"] == "date"
    assert opportunity_types["is_closed"] == "boolean"


def test_dbt_build_ran_every_node_on_spark(spark_warehouse):
    assert_build_ran_every_node(*spark_warehouse.run_results)


@pytest.mark.parametrize("mart", MART_NAMES)
def test_mart_matches_duckdb(mart, spark_warehouse, demo_warehouse):
    grains = mart_grains(spark_warehouse.target_path)
    assert mart in grains, f"{mart} is not a model of models/marts in the manifest"
    schema, table, grain = grains[mart]
    with duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as con:
        duck = table_rows(con, f'select * from "{schema}"."{table}"')
    # Spark stores a partition column (fct_deal_snapshots' snapshot_date) last
    assert_same_mart(mart, grain, duck, spark_warehouse.marts[mart], "Spark", column_order_matters=False)


@pytest.mark.parametrize("mart", MART_NAMES)
def test_published_mart_matches_duckdb(mart, spark_warehouse, demo_warehouse):
    # what BI reads after the pipeline ran on Spark: columns in the declared order too
    from revops.publish import open_served

    schema, table, grain = mart_grains(spark_warehouse.target_path)[mart]
    sql = f'select * from "{schema}"."{table}"'
    with duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as con:
        duck = table_rows(con, sql)
    with open_served(spark_warehouse.serve_dir) as served:
        assert served is not None, "the pipeline published nothing"
        published = table_rows(served, sql)
    assert_same_mart(mart, grain, duck, published, "Spark via the pipeline")


def _versions(snapshot: tuple[list[str], list[tuple]], deal: str) -> list[dict]:
    columns, rows = snapshot
    found = [
        dict(zip(columns, row, strict=False)) for row in rows if row[columns.index("opportunity_id")] == deal
    ]
    return sorted(found, key=lambda version: version["dbt_valid_from"])


def test_snapshot_versions_a_changed_and_a_deleted_deal_on_spark(spark_warehouse):
    day_one, day_two = spark_warehouse.snapshot_day_one, spark_warehouse.snapshot_day_two
    as_of = dt.datetime(2026, 11, 23)
    next_day = dt.datetime.combine(NEXT_DAY, dt.time())

    # day one: one current version per deal, valid from the first run's as_of_date
    ids = [row[day_one[0].index("opportunity_id")] for row in day_one[1]]
    assert len(ids) == len(set(ids)) > 0
    assert {row[day_one[0].index("dbt_valid_from")] for row in day_one[1]} == {as_of}
    assert {row[day_one[0].index("dbt_valid_to")] for row in day_one[1]} == {None}

    # day two: the changed deal has its old version closed and a new one open ...
    changed = _versions(day_two, spark_warehouse.changed_deal)
    assert [(v["dbt_valid_from"], v["dbt_valid_to"]) for v in changed] == [
        (as_of, next_day),
        (next_day, None),
    ]
    assert changed[1]["next_step"] == "Security review with their CISO"
    assert changed[0]["next_step"] != changed[1]["next_step"]
    # ... the deleted deal's version is closed (hard_deletes: invalidate; dbt stamps a
    # deletion with the clock time of the run, on every engine) ...
    deleted = _versions(day_two, spark_warehouse.deleted_deal)
    assert len(deleted) == 1 and deleted[0]["dbt_valid_from"] == as_of
    assert deleted[0]["dbt_valid_to"] is not None and deleted[0]["dbt_valid_to"] > as_of
    # ... and every other deal keeps its one open version, untouched
    assert len(day_two[1]) == len(day_one[1]) + 1
    untouched = set(ids) - {spark_warehouse.changed_deal, spark_warehouse.deleted_deal}
    for deal in sorted(untouched)[:50]:
        assert [(v["dbt_valid_from"], v["dbt_valid_to"]) for v in _versions(day_two, deal)] == [(as_of, None)]
