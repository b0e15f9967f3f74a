"""Put the raw tables where dbt builds: DuckDB (the default), PostgreSQL or Spark.

The landing loader (`revops.landing`) always reads, validates and types the files in
DuckDB: that is the one validation path, whatever the warehouse. When the warehouse
is PostgreSQL (the `postgres` dbt target), `copy_raw_to_postgres` then copies each
typed raw table into PostgreSQL, same names, same columns, same types, so the dbt
project reads identical sources on either engine.

Each table goes through a CSV file that DuckDB writes (`COPY ... TO`) and PostgreSQL
reads (`COPY ... FROM STDIN`), replaced in one transaction per table: readers see the
previous table or the new one, never half of it. Doubles are written in their
shortest round-trip form, so they arrive bit for bit; an empty string is written
quoted and NULL as nothing, so the two stay apart.

When the warehouse is Spark (the `spark` dbt target, session mode), `copy_raw_to_spark`
writes each typed raw table to Parquet and Spark saves it as a table of the same name
in its local metastore.

DuckDB's own postgres extension is not used: it is downloaded at run time, and the
machines this runs on reach PyPI only.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from revops.sql import quote_identifier, quote_literal, scalar

# DuckDB column type -> PostgreSQL column type. DECIMAL(p,s) and one-level lists of
# these are handled in `postgres_type`.
POSTGRES_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(39, 0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "UUID": "uuid",
    "JSON": "jsonb",
}


class UnsupportedColumnType(ValueError):
    """A raw column whose DuckDB type has no PostgreSQL counterpart here."""


@dataclass(frozen=True)
class CopiedTable:
    """One raw table copied: `table` is `<raw_schema>.<name>` in PostgreSQL."""

    table: str
    row_count: int
    seconds: float


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL type a DuckDB column type is copied as (`VARCHAR` -> `text`,
    `DOUBLE` -> `double precision`, `VARCHAR[]` -> `text[]`, `DECIMAL(18,2)` ->
    `numeric(18,2)`); UnsupportedColumnType for anything else (structs, maps, blobs)."""
    name = duckdb_type.strip().upper()
    if name.endswith("[]"):
        element = name[:-2]
        if element.endswith("[]"):
            raise UnsupportedColumnType(f"nested list type {duckdb_type}")
        return postgres_type(element) + "[]"
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", name)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    try:
        return POSTGRES_TYPES[name]
    except KeyError:
        raise UnsupportedColumnType(f"no PostgreSQL type for DuckDB type {duckdb_type}") from None


def _csv_expression(column: str, duckdb_type: str) -> str:
    """What DuckDB writes to the CSV for a column: the value itself, except lists,
    which become PostgreSQL array literals ({"a","b",NULL})."""
    quoted = quote_identifier(column)
    if not duckdb_type.strip().endswith("[]"):
        return quoted
    element = (
        "coalesce('\"' || replace(replace(cast(v as varchar), '\\', '\\\\'), '\"', '\\\"') || '\"', 'NULL')"
    )
    return (
        f"case when {quoted} is not null then "
        f"'{{' || array_to_string(list_transform({quoted}, lambda v: {element}), ',') || '}}' end "
        f"as {quoted}"
    )


def raw_table_names(duckdb_con: duckdb.DuckDBPyConnection, raw_schema: str = "raw") -> list[str]:
    """The base tables of `raw_schema` in DuckDB, by name."""
    rows = duckdb_con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [raw_schema],
    ).fetchall()
    return [name for (name,) in rows]


def copy_raw_to_postgres(
    duckdb_con: duckdb.DuckDBPyConnection,
    pg_dsn: str,
    raw_schema: str = "raw",
    *,
    tables: Iterable[str] | None = None,
) -> list[CopiedTable]:
    """Copy every table of DuckDB's `raw_schema` (or only `tables`) into the same
    schema of the PostgreSQL database at `pg_dsn` (a libpq connection string or URI).

    Each table is dropped, created with the same column names and the types of
    `postgres_type`, filled with COPY and analyzed, in one transaction: a failure
    leaves the previous PostgreSQL table as it was. Run it after the DuckDB loader.
    """
    import psycopg2  # only the PostgreSQL warehouse needs it

    names = list(tables) if tables is not None else raw_table_names(duckdb_con, raw_schema)
    copied = []
    pg = psycopg2.connect(pg_dsn)
    try:
        pg.set_client_encoding("UTF8")
        with tempfile.TemporaryDirectory(prefix="revops-pg-copy-") as scratch:
            for name in names:
                copied.append(_copy_table(duckdb_con, pg, raw_schema, name, Path(scratch) / "table.csv"))
    finally:
        pg.close()
    return copied


def _copy_table(
    duckdb_con: duckdb.DuckDBPyConnection, pg: Any, raw_schema: str, name: str, csv_path: Path
) -> CopiedTable:
    started = time.monotonic()
    columns = duckdb_con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [raw_schema, name],
    ).fetchall()
    if not columns:
        raise ValueError(f"DuckDB has no table {raw_schema}.{name} to copy")
    try:
        definitions = [f"{quote_identifier(col)} {postgres_type(kind)}" for col, kind in columns]
    except UnsupportedColumnType as exc:
        raise UnsupportedColumnType(f"cannot copy {raw_schema}.{name} to PostgreSQL: {exc}") from None

    source = f"{quote_identifier(raw_schema)}.{quote_identifier(name)}"
    select = ", ".join(_csv_expression(col, kind) for col, kind in columns)
    duckdb_con.execute(
        f"copy (select {select} from {source}) to {quote_literal(str(csv_path))} (format csv, header false)"
    )
    expected_rows = scalar(duckdb_con, f"select count(*) from {source}")

    column_list = ", ".join(quote_identifier(col) for col, _ in columns)
    with pg, pg.cursor() as cur:  # one transaction: commit on success, roll back on any error
        cur.execute(f"create schema if not exists {quote_identifier(raw_schema)}")
        cur.execute(f"drop table if exists {source}")
        cur.execute(f"create table {source} ({', '.join(definitions)})")
        with open(csv_path, "rb") as data:
            cur.copy_expert(
                f"copy {source} ({column_list}) from stdin with (format csv, header false)",
                data,
                size=1 << 20,
            )
        row_count = cur.rowcount
        if row_count != expected_rows:
            raise RuntimeError(
                f"copying {raw_schema}.{name} to PostgreSQL wrote {row_count} rows, "
                f"DuckDB has {expected_rows}"
            )
        cur.execute(f"analyze {source}")
    os.remove(csv_path)
    return CopiedTable(
        table=f"{raw_schema}.{name}",
        row_count=int(row_count),
        seconds=round(time.monotonic() - started, 3),
    )


def postgres_dsn_from_env(environ: dict[str, str] | None = None) -> str:
    """The libpq connection string of the `postgres` dbt target, from the same
    variables `dbt_project/profiles.yml` reads (REVOPS_PG_HOST, _PORT, _USER,
    _PASSWORD, _DATABASE) with the same defaults (`revops.publish.postgres_served.postgres_dsn`)."""
    from revops.publish.postgres_served import postgres_dsn

    return postgres_dsn(os.environ if environ is None else environ)


# --------------------------------------------------------------------------- Spark


def copy_raw_to_spark(
    duckdb_con: duckdb.DuckDBPyConnection,
    raw_schema: str = "raw",
    *,
    tables: Iterable[str] | None = None,
    environ: dict[str, str] | None = None,
) -> list[CopiedTable]:
    """Copy every table of DuckDB's `raw_schema` (or only `tables`) into the same
    database of the Spark metastore the `spark` dbt target opens, as Parquet tables.

    DuckDB writes each table to Parquet; a child process (`revops.spark_io load`) reads
    them with Spark and replaces the tables, with the same column names and types
    (VARCHAR as string, DOUBLE as double, DATE as date, TIMESTAMP as timestamp). It is
    a child process because the local Derby metastore takes one process at a time and
    stays locked while a JVM that opened it lives: dbt opens it next.
    """
    from revops import spark_io

    names = list(tables) if tables is not None else raw_table_names(duckdb_con, raw_schema)
    expected = {}
    with tempfile.TemporaryDirectory(prefix="revops-spark-copy-") as scratch:
        for name in names:
            source = f"{quote_identifier(raw_schema)}.{quote_identifier(name)}"
            parquet = Path(scratch) / f"{name}.parquet"
            duckdb_con.execute(
                f"copy (select * from {source}) to {quote_literal(str(parquet))} (format parquet)"
            )
            expected[name] = scalar(duckdb_con, f"select count(*) from {source}")
        loaded = spark_io.run("load", scratch, raw_schema, *names, environ=environ)
    copied = []
    for name in names:
        row_count, seconds = loaded[name]["rows"], loaded[name]["seconds"]
        if row_count != expected[name]:
            raise RuntimeError(
                f"copying {raw_schema}.{name} to Spark wrote {row_count} rows, DuckDB has {expected[name]}"
            )
        copied.append(CopiedTable(f"{raw_schema}.{name}", int(row_count), seconds))
    return copied


# --------------------------------------------------------------------------- the setting

ENV_DBT_TARGET = "REVOPS_DBT_TARGET"
TARGETS = ("duckdb", "postgres", "spark")


def dbt_target(environ: dict[str, str] | None = None) -> str:
    """The warehouse dbt builds in: REVOPS_DBT_TARGET, one of the outputs of
    `dbt_project/profiles.yml` (`duckdb`, the default, `postgres` or `spark`)."""
    env = os.environ if environ is None else environ
    target = (env.get(ENV_DBT_TARGET) or "duckdb").strip()
    if target not in TARGETS:
        raise ValueError(
            f"{ENV_DBT_TARGET}={target!r} is not a warehouse this project builds in: "
            f"expected one of {', '.join(TARGETS)}"
        )
    return target


def copy_raw_to_target(
    duckdb_con: duckdb.DuckDBPyConnection, target: str, raw_schema: str = "raw"
) -> list[CopiedTable]:
    """Copy the typed raw tables from the DuckDB build file into `target`'s warehouse
    (nothing to do for `duckdb`, where they already are)."""
    if target == "duckdb":
        return []
    if target == "postgres":
        return copy_raw_to_postgres(duckdb_con, postgres_dsn_from_env(), raw_schema)
    if target == "spark":
        return copy_raw_to_spark(duckdb_con, raw_schema)
    raise ValueError(f"no raw copy for warehouse {target!r}")


# PostgreSQL type OID -> the Arrow type its column arrives as in DuckDB; others as text
_PG_OID_ARROW = {
    16: "bool_",
    20: "int64",
    21: "int16",
    23: "int32",
    700: "float32",
    701: "float64",
    1700: "float64",
    1082: "date32",
    1114: "timestamp_us",
    1184: "timestamp_us_utc",
}


def _arrow_type(oid: int) -> Any:
    import pyarrow as pa

    name = _PG_OID_ARROW.get(oid, "string")
    if name == "timestamp_us":
        return pa.timestamp("us")
    if name == "timestamp_us_utc":
        return pa.timestamp("us", tz="UTC")
    return getattr(pa, name)()


def _arrow_value(value: Any, oid: int) -> Any:
    if value is None:
        return None
    if _PG_OID_ARROW.get(oid) == "float64" and not isinstance(value, float):
        return float(value)  # numeric -> double, as the marts' contracts declare
    if oid not in _PG_OID_ARROW:
        return str(value)
    return value


def postgres_query_arrow(cur: Any, sql: str, params: Iterable[Any] = ()) -> Any:
    """A query's rows on a psycopg2 cursor as an Arrow table, the types from the cursor's
    description (numeric as double, as the marts' contracts declare; unknown types as text)."""
    import pyarrow as pa

    cur.execute(sql, list(params))
    rows = cur.fetchall()
    return pa.table(
        {
            column.name: pa.array(
                [_arrow_value(row[i], column.type_code) for row in rows], type=_arrow_type(column.type_code)
            )
            for i, column in enumerate(cur.description)
        }
    )


def _postgres_tables_as_parquet(names: list[str], scratch: Path, dsn: str | None = None) -> dict[str, str]:
    """Each PostgreSQL table read with psycopg2 into Arrow (types from the cursor's
    description), written to Parquet: DuckDB's source expression per table. `dsn`:
    default the warehouse's (REVOPS_PG_*)."""
    import psycopg2  # only the PostgreSQL warehouse needs it
    import pyarrow.parquet as pq

    sources = {}
    pg = psycopg2.connect(dsn or postgres_dsn_from_env())
    try:
        with pg.cursor() as cur:
            for name in names:
                schema, table = name.split(".", 1)
                arrow = postgres_query_arrow(
                    cur, f"select * from {quote_identifier(schema)}.{quote_identifier(table)}"
                )
                path = scratch / f"{name.replace('/', '_')}.parquet"
                pq.write_table(arrow, path)
                sources[name] = f"read_parquet({quote_literal(str(path))})"
    finally:
        pg.close()
    return sources


def postgres_schema_tables(dsn: str, schemas: list[str]) -> list[str]:
    """`schema.table` of every table and view in `schemas` of the PostgreSQL database."""
    import psycopg2

    pg = psycopg2.connect(dsn)
    try:
        with pg.cursor() as cur:
            cur.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema = any(%s) order by 1, 2",
                (schemas,),
            )
            return [f"{schema}.{table}" for schema, table in cur.fetchall()]
    finally:
        pg.close()


def postgres_tables_as_parquet(dsn: str, names: list[str], scratch: Path) -> dict[str, str]:
    """Tables of any PostgreSQL database (a connector's schema) as Parquet files for DuckDB."""
    return _postgres_tables_as_parquet(names, scratch, dsn)


def postgres_serving(settings: Any, environ: dict[str, str] | None = None) -> Any:
    """Where the postgres target serves the marts (`revops.publish.postgres.PostgresServing`):
    the database of the dbt profile (REVOPS_PG_*), the run's served schema and lock timeout."""
    from revops.publish.postgres import PostgresServing

    return PostgresServing(
        dsn=postgres_dsn_from_env(environ),
        served_schema=settings.pg_served_schema,
        lock_timeout_seconds=settings.pg_publish_lock_timeout_seconds,
    )


def served_in_postgres(settings: Any, environ: dict[str, str] | None = None) -> str | None:
    """Where BI reads in words when the run's target publishes in PostgreSQL (`schema
    revops_served of database revops`), else None (the serving folder's file)."""
    if dbt_target(environ) != "postgres":
        return None
    return str(postgres_serving(settings, environ).describe())


def spark_serving(settings: Any) -> Any:
    """Where the spark target serves the marts (`revops.publish.spark_served.SparkServing`):
    the run's served database in the metastore of the dbt profile (REVOPS_SPARK_DIR)."""
    from revops.publish.spark_served import SparkServing

    return SparkServing(served_database=settings.spark_served_database)


def served_in_target(settings: Any, environ: dict[str, str] | None = None) -> str | None:
    """Where BI reads in words when the run's target publishes in its own warehouse (`schema
    revops_served of database revops (PostgreSQL)`, `database revops_served of the Spark
    metastore (Spark)`), else None (the serving folder's file)."""
    target = dbt_target(environ)
    if target == "postgres":
        return f"{postgres_serving(settings, environ).describe()} (PostgreSQL)"
    if target == "spark":
        return f"{spark_serving(settings).describe()} (Spark)"
    return None
