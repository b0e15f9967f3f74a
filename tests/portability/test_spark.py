"""The same dbt project on Spark: same raw data in, same marts out.

dbt-spark's session mode runs pyspark inside dbt's own process, with a local Hive
metastore (Derby) and warehouse folder in a temporary REVOPS_SPARK_DIR: the way the
project runs on a distributed engine, on one machine. The whole pipeline runs with
REVOPS_DBT_TARGET=spark on the demo files `demo_warehouse` was built from: it loads and
gates them in DuckDB, copies the raw tables to Spark, runs `dbt build` there and
publishes the marts in Spark (a database per publish, the views of `revops_served`
repointed to it). Then the incremental model and the snapshot run once more, as a daily
run would, and every mart of `models/marts`, as Spark holds it and as `revops_served`
serves it, is compared with DuckDB's, row by row on its grain; the dashboard's Spark
reader must return the published rows. Two more publishes (two small marts each, the
second a day later, one day kept) must repoint the views and keep or drop the earlier
publishes' databases per retention. A second day then changes one deal and deletes another
in raw, and the snapshot (which Spark without Delta Lake takes through the project's own
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
REPUBLISHED = ["dim_reps", "pipeline_hygiene_digest"]  # the later publishes' marts: small ones


def _run_results(target_path: Path) -> list[dict]:
    return json.loads((target_path / "run_results.json").read_text())["results"]


def _export(
    tables: list[str], folder: Path, environ: dict[str, str], *, described: list[str] = ()
) -> tuple[dict[str, tuple[list[str], list[tuple]]], dict[str, dict]]:
    """Each Spark table of `tables` as (columns, rows): Spark writes it to Parquet in a child
    process (`revops.spark_io export`), DuckDB reads it back; and each of `described` as that
    child describes it (rows, columns with Spark types). One child for all: each costs a JVM
    and a metastore start (30 s on a busy machine)."""
    from revops import spark_io

    result = spark_io.run("export", folder, *tables, *described, environ=environ)
    tables_read = {}
    with duckdb.connect() as con:
        for table in tables:
            tables_read[table] = table_rows(con, f"select * from read_parquet('{folder / table}/*.parquet')")
    return tables_read, {table: result[table] for table in described}


def _read_dashboard(tables: dict[str, str], *, versions: bool = False) -> dict:
    """What the dashboard's Spark reader (REVOPS_SERVE_ENGINE=spark) reads now, in a fresh
    cache: the publish, its tables, each of `tables` (mart -> table) as (columns, rows), the
    publish log's ids, the kept days and, with `versions`, each kept day's `tables`."""
    from dashboard import served, served_spark

    served_spark.clear_cache()
    read: dict = {}
    with served.open_served() as db:
        assert db is not None, "the dashboard's Spark reader found nothing published"
        read["path"] = str(db.path)
        read["tables"] = db.tables()
        read["marts"] = {
            name: table_rows(db._con, f'select * from marts."{t}"') for name, t in tables.items()
        }
        read["log"] = [
            row[0] for row in db.rows("select publish_id from main.publish_log order by published_at")
        ]
    read["publish_id"] = served_spark.current_stamp(served._spark_serving()).publish_id
    read["kept"] = served.kept_days()
    read["versions"] = {}
    for day in read["kept"] if versions else []:
        with served.open_served(version=day.parquet_version) as db:
            read["versions"][day.publish_id] = {
                name: table_rows(db._con, f'select * from marts."{t}"') for name, t in tables.items()
            }
    served_spark.clear_cache()
    return read


@dataclass(frozen=True)
class SparkWarehouse:
    spark_dir: Path
    target_path: Path
    serve_dir: Path
    run_results: tuple[list[dict], list[dict]]  # the full build's, the incremental rerun's
    marts: dict[str, tuple[list[str], list[tuple]]]  # as built for as_of_date
    served_marts: dict[str, tuple[list[str], list[tuple]]]  # through the views of revops_served
    first_publish: str  # the pipeline's publish id
    dashboard_first: dict  # what the dashboard's Spark reader read of the pipeline's publish
    republished: tuple  # the PublishResults of the second and third publishes
    served_after: dict  # after the third: revops_served.served_publish, a view's rows, the reader's
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

    from orchestration.dbt_assets import dbt_vars
    from revops.publish.request import PublishRequest
    from revops.publish.spark import publish_marts_spark
    from revops.publish.spark_served import SparkServing
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
    # the later builds pass what the pipeline's passed (its vars; the day in REVOPS_AS_OF_DATE)
    # and start from its partial-parse state: dbt parses only what changed, not the whole project
    pipeline_vars = json.loads(dbt_vars(settings)[1])
    target_path.mkdir()
    shutil.copyfile(invocation.parent / "partial_parse.msgpack", target_path / "partial_parse.msgpack")

    with pytest.MonkeyPatch.context() as env:
        env.setenv("REVOPS_SPARK_DIR", str(spark_dir))
        env.setenv("REVOPS_AS_OF_DATE", as_of)
        run_dbt(
            ["build", "--target", "spark", "--select", "fct_deal_snapshots", "opportunity_state_snapshot"],
            dbt_vars=pipeline_vars,
            **common,
        )
        rerun = _run_results(target_path)

        grains = mart_grains(target_path)
        tables = {f"{schema}.{table}": name for name, (schema, table, _) in grains.items()}
        served_views = {f"revops_served.{table}": name for name, (_, table, _) in grains.items()}
        raw_names = [
            name
            for (name,) in demo_warehouse.query(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            )
        ]
        # the raw tables too: nothing below changes them in Spark before day two's copy
        exported, raw_tables = _export(
            [*tables, *served_views, "snapshots.opportunity_state_snapshot"],
            work / "day_one",
            environ,
            described=[f"raw.{name}" for name in raw_names],
        )
        marts = {name: exported[table] for table, name in tables.items()}
        served_marts = {name: exported[view] for view, name in served_views.items()}
        snapshot_day_one = exported["snapshots.opportunity_state_snapshot"]

        # the dashboard's Spark reader, on the pipeline's publish
        env.setenv("REVOPS_SERVE_ENGINE", "spark")
        dashboard_first = _read_dashboard({name: table for name, (_, table, _) in grains.items()})
        first_publish = dashboard_first["publish_id"]

        # two more publishes: the same day (the pipeline's kept as the one before), then the next
        # day with one day kept (the pipeline's dropped: neither the one before nor a day's last)
        republished = tuple(
            publish_marts_spark(
                SparkServing(),
                PublishRequest(
                    run_id=f"republish-{day}", as_of_date=day, marts=REPUBLISHED, source_key="spark-test"
                ),
                state_path=settings.state_path(),
                days_kept=1,
            )
            for day in (demo_warehouse.as_of_date, NEXT_DAY)
        )
        served_after = {"reader": _read_dashboard({name: name for name in REPUBLISHED}, versions=True)}
        env.delenv("REVOPS_SERVE_ENGINE")

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
        env.setenv("REVOPS_AS_OF_DATE", NEXT_DAY.isoformat())
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
            dbt_vars=pipeline_vars,
            **common,
        )
        # with the served marker and a repointed view after the third publish: day two's build
        # is dbt's own (raw, staging, the snapshot) and does not touch revops_served
        day_two, _ = _export(
            [
                "snapshots.opportunity_state_snapshot",
                "revops_served.served_publish",
                f"revops_served.{REPUBLISHED[0]}",
            ],
            work / "day_two",
            environ,
        )
        snapshot_day_two = day_two["snapshots.opportunity_state_snapshot"]
        served_after["marker"] = day_two["revops_served.served_publish"]
        served_after["view"] = day_two[f"revops_served.{REPUBLISHED[0]}"]

    return SparkWarehouse(
        spark_dir,
        target_path,
        work / "serve",
        (full_build, rerun),
        marts,
        served_marts,
        first_publish,
        dashboard_first,
        republished,
        served_after,
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
    # what BI reads in Spark after the pipeline ran there (the views of revops_served):
    # columns in the declared order too; and the dashboard's Spark reader reads the same rows
    schema, table, grain = mart_grains(spark_warehouse.target_path)[mart]
    with duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as con:
        duck = table_rows(con, f'select * from "{schema}"."{table}"')
    published = spark_warehouse.served_marts[mart]
    assert_same_mart(mart, grain, duck, published, "Spark's revops_served")
    assert_same_mart(mart, grain, published, spark_warehouse.dashboard_first["marts"][mart], "the dashboard")


def test_the_pipeline_published_in_spark_not_in_the_serving_folder(spark_warehouse, demo_warehouse):
    first = spark_warehouse.dashboard_first
    assert first["path"] == "spark:revops_served"
    assert first["tables"] == {f"marts.{m}" for m in MART_NAMES} | {"main.publish_log", "main.alerts"}
    assert first["log"] == [spark_warehouse.first_publish]
    assert [(d.as_of_date, d.publish_id, d.is_current) for d in first["kept"]] == [
        (demo_warehouse.as_of_date, spark_warehouse.first_publish, True)
    ]
    assert not (spark_warehouse.serve_dir / "revops.duckdb").exists()  # nothing pulled back and served there


def test_later_publishes_repoint_the_views_and_keep_what_retention_says(spark_warehouse, demo_warehouse):
    second, third = spark_warehouse.republished
    first = spark_warehouse.first_publish
    tag = lambda publish_id: "revops_served__" + publish_id.lower().replace("-", "_")  # noqa: E731
    # the second publish (same day) keeps the first as the one before it; the third (next day,
    # one day kept) drops the first: neither the one before it nor the last of a kept day
    assert second.published and second.dropped == ()
    assert third.published and third.dropped == (tag(first),)
    assert third.served_at == "database revops_served of the Spark metastore"
    after = spark_warehouse.served_after
    marker_columns, marker_rows = after["marker"]
    assert [row[marker_columns.index("publish_id")] for row in marker_rows] == [third.publish_id]
    grain = mart_grains(spark_warehouse.target_path)[REPUBLISHED[0]][2]
    first_rows = spark_warehouse.served_marts[REPUBLISHED[0]]
    assert first_rows[1], f"{REPUBLISHED[0]} is empty: the checks below would prove nothing"
    assert_same_mart(REPUBLISHED[0], grain, first_rows, after["view"], "the repointed view")
    reader = after["reader"]
    assert reader["publish_id"] == third.publish_id
    assert reader["tables"] == {f"marts.{m}" for m in REPUBLISHED} | {"main.publish_log", "main.alerts"}
    assert reader["log"] == [first, second.publish_id, third.publish_id]
    assert [(d.as_of_date, d.publish_id, d.is_current) for d in reader["kept"]] == [
        (NEXT_DAY, third.publish_id, True),
        (demo_warehouse.as_of_date, second.publish_id, False),
    ]
    grain = mart_grains(spark_warehouse.target_path)[REPUBLISHED[0]][2]
    for publish_id, marts in reader["versions"].items():  # each kept day read from its own database
        assert_same_mart(
            REPUBLISHED[0],
            grain,
            spark_warehouse.served_marts[REPUBLISHED[0]],
            marts[REPUBLISHED[0]],
            publish_id,
        )
    assert set(reader["versions"]) == {second.publish_id, third.publish_id}
    assert second.mart_fingerprints == third.mart_fingerprints  # the same marts, the same content


def test_status_names_the_spark_database(spark_warehouse, demo_warehouse, monkeypatch, capsys):
    from revops_app.cli import main

    monkeypatch.setenv("REVOPS_DBT_TARGET", "spark")
    warehouse = spark_warehouse.spark_dir.parent / "build.duckdb"
    assert main(["status", "--warehouse", str(warehouse), "--serve-dir", str(spark_warehouse.serve_dir)]) == 0
    out = capsys.readouterr().out
    assert "Served warehouse: database revops_served of the Spark metastore (Spark)" in out
    assert out.count("as_of ") == 3


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
