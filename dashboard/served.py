"""Reading the served warehouse: read-only, short-lived, never in a publisher's way.

The dashboard reads only `<serve_dir>/revops.duckdb` (REVOPS_SERVE_DIR, default
`data/serve`), which `revops.publish` replaces with one `os.replace`. Every page load
opens it read-only, runs its few queries and closes it again, so:

- a publish is never blocked (a read-only DuckDB handle takes only a shared lock on the
  inode it opened, and the publisher writes a new file and renames it over the old one);
- the next page load sees the new file (nothing is held open between loads);
- nothing is ever written: the file is attached `READ_ONLY`.

The file is attached from an in-memory DuckDB rather than opened with
`duckdb.connect(path, read_only=True)`: DuckDB caches database instances by path within
a process, and Streamlit serves every browser session from threads of one process, so
a connection opened by path while another session's is still open would be handed the
instance of the file that was replaced since. An attach always opens the current file.

`file_stamp` identifies the current file (inode, mtime, size): each publish makes a new
file, so a cache keyed on the stamp is never stale.

A past day (the as-of picker, `?as_of=`): the served file holds only the current marts, so a
kept day's marts are read from its Parquet version folder (`parquet/v-<publish_id>/`, kept by
the publisher for REVOPS_SERVED_DAYS_KEPT days, see `revops.publish.files`). `open_served(path,
version)` then builds the same `served` catalog in memory, a view per `<mart>.parquet` (per
`<mart>/*.parquet` for a mart published by month, `revops.publish.content`) in schema `marts`
and a view per table of the served file's `main` (the publish log and the alerts are the
latest), so every page's queries run unchanged. Nothing is written: the views live in
an in-memory database, the files are only read.

PostgreSQL (REVOPS_SERVE_ENGINE=postgres, what the postgres target publishes to): the same
functions read the served schema instead, through `dashboard/served_postgres.py` (the tables a
page reads copied into an in-memory DuckDB of the publish served, so every page's SQL runs
unchanged; the stamp is the publish id; the kept days are the kept publishes' schemas).
Spark (REVOPS_SERVE_ENGINE=spark, what the spark target publishes to): the same through
`dashboard/served_spark.py` (a publish's tables exported once by a Spark child process into an
in-memory DuckDB; the kept days are the kept publishes' databases).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from dashboard import served_postgres, served_spark
from dashboard.settings import serve_engine
from revops.metrics import (
    SEMANTIC_MANIFEST_PATH,
    MetricTable,
    compile_metric_query,
    metric_database_name,
    query_metrics,
)
from revops.paths import DBT_PROJECT_DIR
from revops.publish.served import PARQUET_DIR, KeptDay
from revops.publish.served import kept_days as _kept_days_in
from revops.publish.served import served_path as _served_path_in
from revops.settings import Settings
from revops.sql import quote_identifier
from revops.sql import quote_literal as _sql_string

DBT_DOCS_INDEX = DBT_PROJECT_DIR / "target" / "index.html"


class ServedFileError(RuntimeError):
    """The served file exists but cannot be read as a DuckDB warehouse."""


class DayNotKeptError(RuntimeError):
    """A past day's Parquet folder is gone (pruned by a publish since the day was picked)."""


class MissingMartsError(RuntimeError):
    """The served file lacks tables a page needs (nothing published yet, or an older publish)."""

    def __init__(self, missing: Sequence[str]):
        self.missing = list(missing)
        super().__init__(", ".join(self.missing))


def served_path(serve_dir: Path | str | None = None) -> Path:
    """`<serve_dir>/revops.duckdb`, the serve folder from the settings when not given; with
    REVOPS_SERVE_ENGINE=postgres (and no folder given), `postgresql:<database>/<served schema>`."""
    if serve_dir is None:
        if serve_engine() == "postgres":
            return served_postgres.location(_postgres_serving())
        if serve_engine() == "spark":
            return served_spark.location(_spark_serving())
        serve_dir = Settings.from_env().serve_dir
    return _served_path_in(Path(serve_dir))


def _postgres_serving() -> served_postgres.PostgresServing:
    return served_postgres.serving_from(os.environ, Settings.from_env().pg_served_schema)


def _spark_serving() -> served_spark.SparkServing:
    return served_spark.serving_from(Settings.from_env().spark_served_database)


@dataclass(frozen=True)
class FileStamp:
    inode: int
    mtime_ns: int
    size: int


def file_stamp(path: Path) -> FileStamp | served_postgres.PublishStamp | served_spark.PublishStamp | None:
    """What identifies the file now at `path`; None when there is none. For PostgreSQL, the
    publish served now (a stamp that cannot be cached for good when PostgreSQL cannot be read:
    `open_served` then says why)."""
    if served_postgres.is_location(path):
        try:
            return served_postgres.current_stamp(_postgres_serving())
        except served_postgres.PostgresReadError:
            return served_postgres.PublishStamp(f"unreadable-{os.urandom(4).hex()}")
    if served_spark.is_location(path):
        try:
            return served_spark.current_stamp(_spark_serving())
        except served_spark.SparkReadError:
            return served_spark.PublishStamp(f"unreadable-{os.urandom(4).hex()}")
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return FileStamp(stat.st_ino, stat.st_mtime_ns, stat.st_size)


def kept_days(path: Path | None = None) -> list[KeptDay]:
    """The published days whose marts can still be read, newest first (the current one first)."""
    path = Path(path) if path is not None else served_path()
    if served_postgres.is_location(path):
        try:
            return served_postgres.kept_days(_postgres_serving())
        except served_postgres.PostgresReadError as error:
            raise ServedFileError(str(error)) from error
    if served_spark.is_location(path):
        try:
            return served_spark.kept_days(_spark_serving())
        except served_spark.SparkReadError as error:
            raise ServedFileError(str(error)) from error
    if not path.exists():
        return []
    try:
        return _kept_days_in(path.parent)
    except duckdb.Error as error:
        raise ServedFileError(f"{path} cannot be read: {error}") from error


def version_dir(path: Path, version: str) -> Path:
    """A Parquet version folder beside the served file at `path`."""
    return Path(path).parent / PARQUET_DIR / version


class ServedWarehouse:
    """One read-only look at the served file (or a kept day's Parquet copy), for one page load."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, version: str | None = None):
        self._con = con
        self.path = path
        self.version = version  # a past day's Parquet version; None: the served file's marts

    def metrics(
        self, saved_query: str | None = None, *, metrics: Sequence[str] = (), group_by: Sequence[str] = ()
    ) -> MetricTable:
        """A query of the metric layer (`mf query --saved-query ...`, or `--metrics ... --group-by
        ...`) on these marts: on the served file as a BI tool asks it, or, for a past day, the
        same compiled SQL on that day's Parquet."""
        query = {"saved_query": saved_query, "metrics": metrics, "group_by": group_by}
        if self.version is None:
            return query_metrics(self.path, SEMANTIC_MANIFEST_PATH, **query)
        sql = compile_metric_query(SEMANTIC_MANIFEST_PATH, **query)
        name = metric_database_name(SEMANTIC_MANIFEST_PATH)
        attached = {
            row[0] for row in self._con.execute("select database_name from duckdb_databases()").fetchall()
        }
        if name not in attached:
            _attach_parquet_marts(self._con, name, version_dir(self.path, self.version))
        cursor = self._con.execute(sql)
        columns = tuple(column[0] for column in cursor.description or ())
        return MetricTable(columns=columns, rows=tuple(tuple(r) for r in cursor.fetchall()), sql=sql)

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self._con.execute(sql, list(params or [])).df()

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self._con.execute(sql, list(params or [])).fetchall()

    def tables(self) -> set[str]:
        """Every table as `schema.table` (`marts.deal_risk`, `main.publish_log`)."""
        return {
            f"{schema}.{table}"
            for schema, table in self._con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = 'served'"
            ).fetchall()
        }

    def require(self, *tables: str) -> None:
        """Raise MissingMartsError naming the tables (`marts.x` or `main.x`) that are absent."""
        present = self.tables()
        missing = [t for t in tables if t not in present]
        if missing:
            raise MissingMartsError(missing)


def _attach_parquet_marts(con: duckdb.DuckDBPyConnection, catalog: str, folder: Path) -> None:
    """An in-memory catalog `catalog` whose schema `marts` has a view per mart of the version
    folder `folder`: each `<mart>.parquet`, and each `<mart>/` of a mart published by partition
    (one file per month, read as one table)."""
    files = sorted(folder.glob("*.parquet"))
    partitioned = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not files and not partitioned:
        raise DayNotKeptError(f"{folder} is gone or empty")
    con.execute(f"attach ':memory:' as {quote_identifier(catalog)}")
    con.execute(f"create schema {quote_identifier(catalog)}.marts")
    for name, source in [(f.stem, str(f)) for f in files] + [
        (d.name, str(d / "*.parquet")) for d in partitioned
    ]:
        con.execute(
            f"create view {quote_identifier(catalog)}.marts.{quote_identifier(name)} as "
            f"select * from read_parquet({_sql_string(source)})"
        )


@contextlib.contextmanager
def open_served(path: Path | None = None, version: str | None = None) -> Iterator[ServedWarehouse | None]:
    """The served file attached read-only for the duration of the block; None when absent.

    `version`: a kept day's Parquet version folder (`KeptDay.parquet_version`) whose marts are
    read instead of the served file's (the publish log and alerts stay the served file's).
    Raises DayNotKeptError when that folder is gone."""
    path = Path(path) if path is not None else served_path()
    if served_postgres.is_location(path):
        with _open_postgres(path, version) as db:
            yield db
        return
    if served_spark.is_location(path):
        with _open_spark(path, version) as db:
            yield db
        return
    if not path.exists():
        yield None
        return
    con = duckdb.connect(config={"threads": 2})
    try:
        try:
            if version is None:
                con.execute(f"attach {_sql_string(str(path))} as served (read_only)")
                con.execute("use served")
            else:
                _attach_parquet_marts(con, "served", version_dir(path, version))
                con.execute(f"attach {_sql_string(str(path))} as published (read_only)")
                con.execute("use served")
                for (table,) in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_catalog = 'published' and table_schema = 'main'"
                ).fetchall():
                    con.execute(
                        f"create view main.{quote_identifier(table)} as "
                        f"select * from published.main.{quote_identifier(table)}"
                    )
        except duckdb.Error as error:
            raise ServedFileError(f"{path} cannot be read: {error}") from error
        yield ServedWarehouse(con, path, version)
    finally:
        con.close()


class PostgresServedWarehouse(ServedWarehouse):
    """One publish served in PostgreSQL (or Spark), read through its in-memory DuckDB: the
    tables a query names are copied from PostgreSQL the first time a page needs them (from
    Spark, all at once when the publish is first seen)."""

    _gone: tuple[type[Exception], ...] = (served_postgres.PublishGone,)
    _unreadable: tuple[type[Exception], ...] = (served_postgres.PostgresReadError,)

    def __init__(self, publish: Any, con: duckdb.DuckDBPyConnection, path: Path, version: str | None):
        super().__init__(con, path, version)
        self._publish = publish

    def metrics(
        self, saved_query: str | None = None, *, metrics: Sequence[str] = (), group_by: Sequence[str] = ()
    ) -> MetricTable:
        sql = compile_metric_query(
            SEMANTIC_MANIFEST_PATH, saved_query=saved_query, metrics=metrics, group_by=group_by
        )
        served_postgres.attach_metric_catalog(
            self._publish, self._con, metric_database_name(SEMANTIC_MANIFEST_PATH), sql
        )
        cursor = self._con.execute(sql)
        columns = tuple(column[0] for column in cursor.description or ())
        return MetricTable(columns=columns, rows=tuple(tuple(r) for r in cursor.fetchall()), sql=sql)

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        self._read(lambda: self._publish.ensure_in_sql(sql))
        return super().frame(sql, params)

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        self._read(lambda: self._publish.ensure_in_sql(sql))
        return super().rows(sql, params)

    def tables(self) -> set[str]:
        return self._publish.tables()

    def require(self, *tables: str) -> None:
        missing = [t for t in tables if t not in self.tables()]
        if missing:
            raise MissingMartsError(missing)
        self._read(lambda: self._publish.ensure(tables))

    def _read(self, read: Any) -> None:
        try:
            read()
        except self._gone as error:
            raise DayNotKeptError(str(error)) from error
        except self._unreadable as error:
            raise ServedFileError(str(error)) from error


class SparkServedWarehouse(PostgresServedWarehouse):
    """One publish served in Spark, exported once into its in-memory DuckDB."""

    _gone = (served_spark.PublishGone,)
    _unreadable = (served_spark.SparkReadError,)


@contextlib.contextmanager
def _open_postgres(path: Path, version: str | None) -> Iterator[ServedWarehouse | None]:
    try:
        publish = served_postgres.publish_database(_postgres_serving(), version)
    except served_postgres.PublishGone as error:
        if version is not None:
            raise DayNotKeptError(str(error)) from error
        yield None  # nothing published to PostgreSQL yet
        return
    except served_postgres.PostgresReadError as error:
        raise ServedFileError(str(error)) from error
    con = publish.database.cursor()
    try:
        con.execute("use served")
        yield PostgresServedWarehouse(publish, con, path, version)
    finally:
        con.close()


@contextlib.contextmanager
def _open_spark(path: Path, version: str | None) -> Iterator[ServedWarehouse | None]:
    try:
        publish = served_spark.publish_database(_spark_serving(), version)
    except served_spark.PublishGone as error:
        if version is not None:
            raise DayNotKeptError(str(error)) from error
        yield None  # nothing published to Spark yet
        return
    except served_spark.SparkReadError as error:
        raise ServedFileError(str(error)) from error
    con = publish.database.cursor()
    try:
        con.execute("use served")
        yield SparkServedWarehouse(publish, con, path, version)
    finally:
        con.close()


def dbt_docs_index() -> Path | None:
    """The generated dbt docs (`make docs`), when they exist."""
    return DBT_DOCS_INDEX if DBT_DOCS_INDEX.exists() else None
