"""The marts served in Spark (`revops.publish.spark` publishes them): where they are
(`SparkServing`), and the Spark SQL both sides run inside a `revops.spark_io` child process
(the local Derby metastore takes one process at a time).

    marts                       dbt's own database (incremental state lives there)
    revops_served__<publish>    one database per publish: a table per mart, plus
                                `served_publish` (that publish's row of the publish log)
    revops_served               what BI reads: one view per mart (and `served_publish`),
                                each `select * from revops_served__<the served publish>.<name>`
    revops_served_history       `publish_log` and `alerts` (PUBLISH_LOG_COLUMNS, ALERTS_COLUMNS)

(`revops_served` is `SparkServing.served_database`, setting REVOPS_SPARK_SERVED_DATABASE.)

The functions taking `spark` run in the child (a SparkSession); the rest is plain values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from revops.publish.served import ALERTS_COLUMNS, PUBLISH_LOG_COLUMNS

DEFAULT_SERVED_DATABASE = "revops_served"
PUBLISH_MARKER = "served_publish"  # in each publish's database, and a view of it in the served one
HISTORY_SUFFIX = "_history"
KEPT_INFIX = "__"

_SPARK_TYPES = {
    "VARCHAR": "string",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "INTEGER": "int",
    "BIGINT": "bigint",
}


@dataclass(frozen=True)
class SparkServing:
    """Where the marts are served in the Spark metastore of the `spark` dbt target: the
    database of views BI reads (`served_database`) and the one dbt builds the marts in."""

    served_database: str = DEFAULT_SERVED_DATABASE
    marts_database: str = "marts"

    def __post_init__(self) -> None:
        for name in (self.served_database, self.marts_database):
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name or "") or len(name) > 64:
                raise ValueError(
                    f"Spark database {name!r}: expected a lower-case name (letters, digits, _), "
                    f"e.g. {DEFAULT_SERVED_DATABASE}"
                )

    @property
    def history_database(self) -> str:
        return f"{self.served_database}{HISTORY_SUFFIX}"

    def publish_database(self, publish_id: str) -> str:
        """The database a publish's marts are copied into (and kept in while retained)."""
        return f"{self.served_database}{KEPT_INFIX}{publish_tag(publish_id)}"

    def is_publish_database(self, name: str) -> bool:
        return name.startswith(self.served_database + KEPT_INFIX)

    def describe(self) -> str:
        return f"database {self.served_database} of the Spark metastore"


def publish_tag(publish_id: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", publish_id.lower())


def spark_type(duckdb_type: str) -> str:
    return _SPARK_TYPES[duckdb_type]


def _value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, sort_keys=True)
    return value


# --------------------------------------------------------------------------- in the child


def fetch_rows(spark: Any, sql: str) -> list[dict[str, Any]]:
    return [row.asDict() for row in spark.sql(sql).collect()]


def databases(spark: Any) -> set[str]:
    return {db.name for db in spark.catalog.listDatabases()}


def relations_in(spark: Any, database: str) -> list[str]:
    """The tables and views of `database`, by name ([] when it does not exist)."""
    if database not in databases(spark):
        return []
    return sorted(t.name for t in spark.catalog.listTables(database) if not t.isTemporary)


def create_log_table(spark: Any, table: str, columns: Mapping[str, str]) -> None:
    ddl = ", ".join(f"`{c}` {spark_type(t)}" for c, t in columns.items())
    spark.sql(f"create table if not exists {table} ({ddl}) using parquet")


def insert_rows(
    spark: Any, table: str, columns: Mapping[str, str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Rows appended to `table` (its columns `columns`), in one write."""
    if not rows:
        return
    schema = ", ".join(f"`{c}` {spark_type(t)}" for c, t in columns.items())
    frame = spark.createDataFrame([tuple(_value(row.get(c)) for c in columns) for row in rows], schema=schema)
    frame.write.insertInto(table)


def ensure_history(spark: Any, serving: SparkServing) -> None:
    """The history database with `publish_log` and `alerts`, created when missing."""
    history = serving.history_database
    spark.sql(f"create database if not exists `{history}`")
    create_log_table(spark, f"`{history}`.publish_log", PUBLISH_LOG_COLUMNS)
    create_log_table(spark, f"`{history}`.alerts", ALERTS_COLUMNS)


def read_log(spark: Any, serving: SparkServing) -> list[dict[str, Any]]:
    """The publish log, newest first ([] when there is none)."""
    if "publish_log" not in relations_in(spark, serving.history_database):
        return []
    return fetch_rows(
        spark,
        f"select * from `{serving.history_database}`.publish_log order by published_at desc, publish_id desc",
    )


def marker_row(spark: Any, database: str) -> dict[str, Any] | None:
    """The publish-log row in `database`.served_publish (a publish's database, or the served
    database's view of the one served), or None."""
    if PUBLISH_MARKER not in relations_in(spark, database):
        return None
    rows = fetch_rows(spark, f"select * from `{database}`.{PUBLISH_MARKER} limit 1")
    return rows[0] if rows else None


def describe_served_spark(spark: Any, serving: SparkServing) -> str:
    """What BI reads now in Spark, in words."""
    try:
        last = marker_row(spark, serving.served_database)
    except Exception as error:
        return f"what is served could not be read ({type(error).__name__}: {error})"
    if last is None:
        return f"nothing has been published to {serving.describe()} yet"
    return (
        f"BI reads publish {last['publish_id']} (as_of_date {last['as_of_date']}, published "
        f"{last['published_at']:%Y-%m-%d %H:%M:%S} UTC) in {serving.describe()}"
    )


def export_publish(
    spark: Any, serving: SparkServing, folder: Any, database: str | None, cached: Sequence[str]
) -> dict[str, Any]:
    """For a reader: the publish served now (`database` None) or the one kept in `database`,
    each of its tables and the history's written to `folder/<schema>.<table>/` as Parquet
    (timestamps as UTC wall-clock `timestamp_ntz`, as DuckDB's), unless its publish id is in
    `cached` (the reader holds it already). Returns the publish id (None: nothing served or
    no such database), the tables written with their columns, and the kept publish databases."""
    source = database or serving.served_database
    marker = marker_row(spark, source)
    kept = sorted(name for name in databases(spark) if serving.is_publish_database(name))
    if marker is None:
        return {"publish_id": None, "tables": {}, "kept_databases": kept}
    publish_id = marker["publish_id"]
    if publish_id in cached:
        return {"publish_id": publish_id, "tables": {}, "kept_databases": kept}
    publish_db = serving.publish_database(publish_id)
    names = {
        f"marts.{name}": f"`{publish_db}`.`{name}`"
        for name in relations_in(spark, publish_db)
        if name != PUBLISH_MARKER
    }
    for table in ("publish_log", "alerts"):
        if table in relations_in(spark, serving.history_database):
            names[f"main.{table}"] = f"`{serving.history_database}`.`{table}`"
    tables = {}
    for name, relation in names.items():
        frame = spark.table(relation)
        for field in frame.schema.fields:
            if field.dataType.simpleString() == "timestamp":
                frame = frame.withColumn(field.name, frame[field.name].cast("timestamp_ntz"))
        frame.write.mode("overwrite").parquet(f"{folder}/{name}")
        tables[name] = [[f.name, f.dataType.simpleString()] for f in frame.schema.fields]
    return {"publish_id": publish_id, "tables": tables, "kept_databases": kept}
