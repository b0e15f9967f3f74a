"""Reading the marts served in Spark (REVOPS_SERVE_ENGINE=spark): the same pages, the same
DuckDB SQL.

The publisher (`revops.publish.spark`) copies each publish into a database of its own
(`revops_served__<publish id>`) and repoints the views of `revops_served` to it. Spark's local
metastore opens in one process at a time and only from a JVM, so a reader does not ask it on
every page load: a `revops.spark_io served` child reads which publish `revops_served` serves
(at most every STAMP_SECONDS per process) and, the first time it sees a publish, exports that
publish's tables (from its own database, which never changes) and the history's publish log
and alerts to Parquet, which an in-memory DuckDB of that publish loads once: `marts.<mart>`,
`main.publish_log`, `main.alerts`, so every page's SQL runs unchanged.

- A page never mixes two publishes: the DuckDB of publish P only holds tables of P.
- At most CACHED_PUBLISHES publishes are held per process; a kept day (the as-of picker) is
  exported the same way from its publish's database.
- When the metastore is busy (a build or a publish holds it) the reader keeps the publish it
  already holds; with none yet it says the served database cannot be read.
- Nothing is written to Spark: the child only reads the catalog and the tables.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from revops import spark_io
from revops.publish.postgres_served import last_of_each_day
from revops.publish.served import ALERTS_COLUMNS, PUBLISH_LOG_COLUMNS, KeptDay
from revops.publish.spark_served import SparkServing
from revops.sql import quote_identifier, quote_literal

SCHEME = "spark:"
CACHED_PUBLISHES = 3
STAMP_SECONDS = 60.0  # how long a process trusts its last look at which publish is served
LOCK_WAIT_SECONDS = 5.0  # a page waits this long for a busy metastore when it holds a publish

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamp_ntz": "TIMESTAMP",
}


class SparkReadError(RuntimeError):
    """The Spark metastore cannot be read (the message says why)."""


class PublishGone(RuntimeError):
    """Nothing is published, or a kept publish's database was dropped since it was picked."""


@dataclass(frozen=True)
class PublishStamp:
    """What identifies the marts served now: the publish id (a new publish, a new stamp)."""

    publish_id: str


def location(serving: SparkServing) -> Path:
    """The served database as the path-like the pages print (`spark:<database>`)."""
    return Path(f"{SCHEME}{serving.served_database}")


def is_location(path: Path | str) -> bool:
    return str(path).startswith(SCHEME)


def _duckdb_type(spark_type: str) -> str:
    if spark_type.startswith("decimal"):
        return spark_type.upper()
    return _DUCKDB_TYPES.get(spark_type, "VARCHAR")


class _Publish:
    """One publish's tables, exported once from Spark, in an in-memory DuckDB (catalog `served`)."""

    def __init__(self, publish_id: str, folder: Path, tables: Mapping[str, list[list[str]]], kept: list[str]):
        self.publish_id = publish_id
        self.kept_databases = kept
        self.database = duckdb.connect(config={"threads": 2})
        self.database.execute("attach ':memory:' as served")
        self.database.execute("use served")
        self.database.execute("create schema if not exists main")
        self.lock = threading.Lock()
        for name, columns in tables.items():
            schema, table = name.split(".", 1)
            self.database.execute(f"create schema if not exists {quote_identifier(schema)}")
            target = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            if any((folder / name).glob("*.parquet")):
                self.database.execute(
                    f"create table {target} as select * from "
                    f"read_parquet({quote_literal(str(folder / name))} || '/*.parquet')"
                )
            else:  # an empty table: Spark may write no file for it
                ddl = ", ".join(f"{quote_identifier(c)} {_duckdb_type(t)}" for c, t in columns)
                self.database.execute(f"create table {target} ({ddl})")
        self.loaded = set(tables)
        self.marts = {name.split(".", 1)[1] for name in tables if name.startswith("marts.")}
        for table, log_columns in (("publish_log", PUBLISH_LOG_COLUMNS), ("alerts", ALERTS_COLUMNS)):
            if f"main.{table}" not in self.loaded:  # no history yet: an empty table
                ddl = ", ".join(f"{quote_identifier(c)} {t}" for c, t in log_columns.items())
                self.database.execute(f"create table main.{table} ({ddl})")

    def ensure(self, names: Iterable[str]) -> None:
        """Every table is there from the start (exported at once)."""

    def ensure_in_sql(self, sql: str) -> None:
        """Every table is there from the start (exported at once)."""

    def tables(self) -> set[str]:
        return {f"marts.{m}" for m in self.marts} | {"main.publish_log", "main.alerts"}

    def kept_days(self, serving: SparkServing) -> list[KeptDay]:
        """The published days whose databases were kept when this publish was exported."""
        rows = self.database.execute(
            "select publish_id, as_of_date, published_at from main.publish_log "
            "order by published_at desc, publish_id desc"
        ).fetchall()
        log = [{"publish_id": p, "as_of_date": d, "published_at": t} for p, d, t in rows]
        published = {row["publish_id"]: row["published_at"] for row in log}
        days = []
        for day in last_of_each_day(log):
            database = serving.publish_database(day.publish_id)
            if database in self.kept_databases:
                is_current = day.publish_id == self.publish_id
                days.append(
                    KeptDay(day.as_of_date, day.publish_id, published[day.publish_id], database, is_current)
                )
        return days


_publishes: OrderedDict[tuple[str, str], _Publish] = OrderedDict()
_stamps: dict[str, tuple[float, str | None]] = {}  # served database -> (when looked, publish id)
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every publish and stamp this process holds (tests, a changed setting)."""
    with _lock:
        for publish in _publishes.values():
            publish.database.close()
        _publishes.clear()
        _stamps.clear()


def _export(serving: SparkServing, database: str | None, lock_wait: float) -> _Publish | str | None:
    """A `spark_io served` child: the publish served (or kept in `database`) as a `_Publish`,
    its id alone when this process holds it already, None when there is none."""
    cached = [publish_id for (_, publish_id) in _publishes]
    folder = Path(tempfile.mkdtemp(prefix="revops-spark-served-"))
    try:
        result = spark_io.run(
            "served",
            folder,
            serving.served_database,
            database or "-",
            *cached,
            lock_timeout_seconds=lock_wait,
        )
        publish_id = result["publish_id"]
        if publish_id is None or not result["tables"]:
            return publish_id
        return _Publish(publish_id, folder, result["tables"], result["kept_databases"])
    except spark_io.SparkStepError as error:
        raise SparkReadError(f"{serving.describe()} cannot be read: {error}") from error
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _hold(serving: SparkServing, publish: _Publish) -> None:
    key = (serving.served_database, publish.publish_id)
    _publishes[key] = publish
    while len(_publishes) > CACHED_PUBLISHES:
        _, old = _publishes.popitem(last=False)
        old.database.close()


def _current(serving: SparkServing) -> _Publish | None:
    """The publish served now, looked up at most every STAMP_SECONDS."""
    with _lock:
        looked = _stamps.get(serving.served_database)
        held = _publishes.get((serving.served_database, looked[1] or "")) if looked else None
        fresh = looked is not None and time.monotonic() - looked[0] < STAMP_SECONDS
        if fresh and looked is not None and (looked[1] is None or held is not None):
            return held
        try:
            found = _export(serving, None, LOCK_WAIT_SECONDS if held else spark_io.LOCK_TIMEOUT_SECONDS)
        except SparkReadError:
            if held is not None:
                return held  # the metastore is busy (a build, a publish): keep what this process holds
            raise
        if isinstance(found, _Publish):
            _hold(serving, found)
            held = found
        elif found is None:
            held = None
        else:
            held = _publishes.get((serving.served_database, found))
        _stamps[serving.served_database] = (time.monotonic(), held.publish_id if held else None)
        return held


def current_stamp(serving: SparkServing) -> PublishStamp | None:
    """The publish served now; None when nothing was published to Spark yet."""
    publish = _current(serving)
    return PublishStamp(publish.publish_id) if publish else None


def kept_days(serving: SparkServing) -> list[KeptDay]:
    publish = _current(serving)
    return publish.kept_days(serving) if publish else []


def publish_database(serving: SparkServing, version: str | None) -> _Publish:
    """The in-memory DuckDB of the publish served now (`version` None) or of a kept day's
    database (`KeptDay.parquet_version`)."""
    if version is None:
        publish = _current(serving)
        if publish is None:
            raise PublishGone(f"nothing has been published to {serving.describe()} yet")
        return publish
    with _lock:
        for (database, publish_id), publish in _publishes.items():
            if database == serving.served_database and serving.publish_database(publish_id) == version:
                return publish
        found = _export(serving, version, spark_io.LOCK_TIMEOUT_SECONDS)
        if not isinstance(found, _Publish):
            raise PublishGone(f"{version} is no longer kept in the Spark metastore")
        _hold(serving, found)
        return found


def serving_from(served_database: str) -> SparkServing:
    return SparkServing(served_database=served_database)


def attach_metric_catalog(publish: Any, cursor: Any, catalog: str, sql: str) -> None:
    """The catalog the metric layer's compiled SQL names: views over this publish's tables."""
    from dashboard.served_postgres import attach_metric_catalog as attach

    attach(publish, cursor, catalog, sql)
