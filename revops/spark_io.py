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

Each prints one JSON line: per table, its rows, seconds and columns with Spark types.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from revops.paths import DBT_PROJECT_DIR, PROJECT_ROOT


class SparkStepError(RuntimeError):
    """A Spark child process failed; the message carries its last output."""


def spark_settings_from_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The Spark settings of the `spark` dbt target, from the same variables
    `dbt_project/profiles.yml` reads: REVOPS_SPARK_DIR (metastore and table files;
    relative to `dbt_project/`, as dbt reads it), _MASTER, _DRIVER_MEMORY and
    _SHUFFLE_PARTITIONS. The raw copy and dbt must open the same metastore, or dbt
    finds no sources."""
    env = os.environ if environ is None else environ
    spark_dir = Path(env.get("REVOPS_SPARK_DIR", "../data/spark"))
    if not spark_dir.is_absolute():
        spark_dir = (DBT_PROJECT_DIR / spark_dir).resolve()
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


def run(command: str, *args: str, environ: dict[str, str] | None = None) -> dict:
    """Run `python -m revops.spark_io <command> <args>` in a child process with
    `environ` added to this process's environment; its JSON result."""
    env = {**os.environ, **(environ or {})}
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


def _session() -> Any:
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
    spark = _session()
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
    spark = _session()
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


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"load", "export"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, folder = argv[0], Path(argv[1])
    result = load(folder, argv[2], argv[3:]) if command == "load" else export(folder, argv[2:])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
