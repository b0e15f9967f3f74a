"""Tables in and out of the local Spark warehouse of the `spark` dbt target.

dbt-spark's session mode keeps its tables in a local Hive metastore (Derby) and a
warehouse folder, both under REVOPS_SPARK_DIR. Derby lets one process open the
metastore at a time, and a process keeps it locked while its JVM lives, even after
`SparkSession.stop()`. So every Spark step here runs in a child process that exits
when done, and `run` is how the rest of the code calls it:

    python -m revops.spark_io load <folder> <database> <table>...
        each <folder>/<table>.parquet becomes the Parquet table <database>.<table>
    python -m revops.spark_io export <folder> <database>.<table>...
        each table is written to <folder>/<database>.<table>/ (Parquet files)
    python -m revops.spark_io publish <folder>
        the publish pickled in <folder>/job.pickle (`revops.publish.spark`), its result
        pickled to <folder>/result.pickle
    python -m revops.spark_io served <folder> <served database> <database or -> [<publish id>...]
        for a reader: the publish served (or kept in <database>) exported to <folder>,
        unless it is one of the publish ids given (`revops.publish.spark_served.export_publish`)

Each prints one JSON line: per table, its rows, seconds and columns with Spark types
(publish and served: what they did). `run` holds an flock on `<REVOPS_SPARK_DIR>/.metastore.lock`
while its child runs: the steps of this module wait for each other instead of failing on
Derby's lock (dbt, which opens the metastore itself, is kept apart by the build lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from revops.paths import DBT_PROJECT_DIR, PROJECT_ROOT


class SparkStepError(RuntimeError):
    """A Spark child process failed; the message carries its last output."""


LOCK_FILE = ".metastore.lock"
LOCK_TIMEOUT_SECONDS = 1800.0  # a publish or an export waits this long for another step


def spark_dir_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """REVOPS_SPARK_DIR (default `../data/spark`), relative to `dbt_project/` as dbt reads it."""
    env = os.environ if environ is None else environ
    spark_dir = Path(env.get("REVOPS_SPARK_DIR", "../data/spark"))
    return spark_dir if spark_dir.is_absolute() else (DBT_PROJECT_DIR / spark_dir).resolve()


def spark_settings_from_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The Spark settings of the `spark` dbt target, from the same variables
    `dbt_project/profiles.yml` reads: REVOPS_SPARK_DIR (metastore and table files;
    relative to `dbt_project/`, as dbt reads it), _MASTER, _DRIVER_MEMORY and
    _SHUFFLE_PARTITIONS. The raw copy and dbt must open the same metastore, or dbt
    finds no sources."""
    env = os.environ if environ is None else environ
    spark_dir = spark_dir_from_env(env)
    return {
        "spark.master": env.get("REVOPS_SPARK_MASTER", "local[2]"),
        "spark.sql.warehouse.dir": f"{spark_dir}/warehouse",
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={spark_dir}/metastore_db;create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
        "spark.driver.memory": env.get("REVOPS_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.shuffle.partitions": env.get("REVOPS_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.ansi.enabled": "false",  # as dbt-spark's session mode sets it
    }


class MetastoreBusy(SparkStepError):
    """Another step holds the metastore's lock for longer than the caller waits."""


@contextlib.contextmanager
def metastore_lock(spark_dir: Path, timeout_seconds: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """This module's Spark steps one at a time (an flock, freed when its process dies)."""
    spark_dir.mkdir(parents=True, exist_ok=True)
    with open(spark_dir / LOCK_FILE, "a+") as handle:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise MetastoreBusy(
                        f"another Spark step holds {spark_dir / LOCK_FILE} for more than {timeout_seconds:g} s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def run(
    command: str,
    *args: str | Path,
    environ: dict[str, str] | None = None,
    lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS,
) -> dict:
    """Run `python -m revops.spark_io <command> <args>` in a child process with
    `environ` added to this process's environment (and TZ=UTC: Python's datetimes and
    Spark's timestamps agree), holding the metastore's lock; its JSON result."""
    env = {**os.environ, **(environ or {}), "TZ": "UTC"}
    with metastore_lock(spark_dir_from_env(env), lock_timeout_seconds):
        process = subprocess.run(
            [sys.executable, "-m", "revops.spark_io", command, *map(str, args)],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
    last_line = process.stdout.strip().splitlines()[-1:] if process.stdout.strip() else []
    if process.returncode != 0 or not last_line:
        raise SparkStepError(
            f"Spark step `{command}` failed (exit {process.returncode}):\n"
            f"{process.stdout[-2000:]}\n{process.stderr[-4000:]}"
        )
    return json.loads(last_line[0])


def session() -> Any:
    from pyspark.sql import SparkSession  # only the Spark warehouse needs it

    builder = SparkSession.builder.appName("revops-spark-io").enableHiveSupport()
    for key, value in spark_settings_from_env().items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _described(frame: Any, started: float) -> dict:
    """What a step reports of a table: its rows, the seconds since `started`, and its
    columns with their Spark types."""
    return {
        "rows": frame.count(),
        "seconds": round(time.monotonic() - started, 3),
        "columns": [[field.name, field.dataType.simpleString()] for field in frame.schema.fields],
    }


def load(folder: Path, database: str, tables: list[str]) -> dict:
    spark = session()
    result = {}
    try:
        spark.sql(f"create database if not exists `{database}`")
        for table in tables:
            started = time.monotonic()
            # Spark skips files whose names start with _ (`_load_log`): read by folder
            staged = folder / f"table-{table}"
            staged.mkdir()
            (folder / f"{table}.parquet").rename(staged / "part-0.parquet")
            spark.read.parquet(str(staged)).write.mode("overwrite").format("parquet").saveAsTable(
                f"`{database}`.`{table}`"
            )
            result[table] = _described(spark.table(f"`{database}`.`{table}`"), started)
    finally:
        spark.stop()
    return result


def export(folder: Path, tables: list[str]) -> dict:
    spark = session()
    result = {}
    try:
        for table in tables:
            started = time.monotonic()
            frame = spark.table(table)
            frame.write.mode("overwrite").parquet(str(folder / table))
            result[table] = _described(frame, started)
    finally:
        spark.stop()
    return result


def served(folder: Path, served_database: str, database: str, cached: list[str]) -> dict:
    from revops.publish.spark_served import SparkServing, export_publish

    spark = session()
    try:
        serving = SparkServing(served_database=served_database)
        return export_publish(spark, serving, folder, None if database == "-" else database, cached)
    finally:
        spark.stop()


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"load", "export", "publish", "served"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, folder = argv[0], Path(argv[1])
    if command == "load":
        result = load(folder, argv[2], argv[3:])
    elif command == "export":
        result = export(folder, argv[2:])
    elif command == "publish":
        from revops.publish.spark import run_publish_job

        result = run_publish_job(folder)
    else:
        result = served(folder, argv[2], argv[3], argv[4:])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
