"""The read side of the marts served in PostgreSQL (`revops.publish.postgres` publishes them):
where they are (`PostgresServing`: the served schema, the kept publishes' schemas, the history
schema), what is served now (`served_publish`), the kept days for the as-of picker, the publish
log and alerts, and tables copied into DuckDB (psycopg2 -> Arrow) for readers that run DuckDB SQL.
Plain psycopg2, values in and out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from revops.publish.served import ALERTS_COLUMNS, PUBLISH_LOG_COLUMNS, KeptDay
from revops.sql import quote_identifier

DEFAULT_SERVED_SCHEMA = "revops_served"
DEFAULT_LOCK_TIMEOUT_SECONDS = 60  # how long a publish waits for readers' open transactions
PUBLISH_MARKER = "served_publish"  # in each served schema: that publish's publish-log row
HISTORY_SUFFIX = "_history"
KEPT_INFIX = "__"
BUILDING_INFIX = "__tmp_"
MAX_SERVED_SCHEMA_CHARS = 26  # + "__tmp_" + a publish id's 31 characters <= PostgreSQL's 63

_PG_TYPES = {
    "VARCHAR": "text",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "INTEGER": "integer",
    "BIGINT": "bigint",
}


@dataclass(frozen=True)
class PostgresServing:
    """Where the marts are served in PostgreSQL: the database (`dsn`, a libpq string), the
    schema BI reads (`served_schema`) and the one dbt builds the marts in (`marts_schema`)."""

    dsn: str
    served_schema: str = DEFAULT_SERVED_SCHEMA
    marts_schema: str = "marts"
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        name = self.served_schema
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name or "") or len(name) > MAX_SERVED_SCHEMA_CHARS:
            raise ValueError(
                f"served schema {name!r}: expected a lower-case PostgreSQL name (letters, digits, _) of at "
                f"most {MAX_SERVED_SCHEMA_CHARS} characters, e.g. {DEFAULT_SERVED_SCHEMA}"
            )
        if self.lock_timeout_seconds <= 0:
            raise ValueError(f"lock_timeout_seconds={self.lock_timeout_seconds!r}: expected more than 0")

    @property
    def history_schema(self) -> str:
        return f"{self.served_schema}{HISTORY_SUFFIX}"

    def kept_schema(self, publish_id: str) -> str:
        """The schema a publish's marts are kept in once a later publish replaced them."""
        return f"{self.served_schema}{KEPT_INFIX}{publish_tag(publish_id)}"

    def building_schema(self, publish_id: str) -> str:
        return f"{self.served_schema}{BUILDING_INFIX}{publish_tag(publish_id)}"

    def describe(self) -> str:
        database = re.search(r"dbname='?([^' ]+)", self.dsn)
        where = f"database {database.group(1)}" if database else "the PostgreSQL database"
        return f"schema {self.served_schema} of {where}"


def publish_tag(publish_id: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", publish_id.lower())


def _pg_type(duckdb_type: str) -> str:
    return _PG_TYPES[duckdb_type]


def _value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, sort_keys=True)
    return value


@contextmanager
def connect(dsn: str) -> Iterator[Any]:
    import psycopg2  # only the PostgreSQL warehouse needs it

    con = psycopg2.connect(dsn)
    try:
        con.set_client_encoding("UTF8")
        yield con
    finally:
        con.close()


def fetch_rows(cur: Any, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur.execute(sql, list(params))
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=False)) for row in cur.fetchall()]


def schemas_named(cur: Any, prefix: str) -> set[str]:
    cur.execute(
        "select nspname from pg_namespace where nspname = %s or left(nspname, %s) = %s",
        [prefix, len(prefix) + len(KEPT_INFIX), prefix + KEPT_INFIX],
    )
    return {name for (name,) in cur.fetchall()}


def tables_in(cur: Any, schema: str) -> list[str]:
    cur.execute("select tablename from pg_tables where schemaname = %s order by tablename", [schema])
    return [name for (name,) in cur.fetchall()]


def insert_rows(cur: Any, table: str, columns: Mapping[str, str], rows: Sequence[Mapping[str, Any]]) -> None:
    names = list(columns)
    sql = (
        f"insert into {table} ({', '.join(quote_identifier(c) for c in names)}) "
        f"values ({', '.join('%s' for _ in names)})"
    )
    for row in rows:
        cur.execute(sql, [_value(row.get(c)) for c in names])


def create_log_table(cur: Any, table: str, columns: Mapping[str, str]) -> None:
    ddl = ", ".join(f"{quote_identifier(c)} {_pg_type(t)}" for c, t in columns.items())
    cur.execute(f"create table if not exists {table} ({ddl})")


def ensure_history(cur: Any, serving: PostgresServing) -> None:
    """The history schema with `publish_log` and `alerts`, created when missing."""
    history = quote_identifier(serving.history_schema)
    cur.execute(f"create schema if not exists {history}")
    create_log_table(cur, f"{history}.publish_log", PUBLISH_LOG_COLUMNS)
    create_log_table(cur, f"{history}.alerts", ALERTS_COLUMNS)


@dataclass(frozen=True)
class _Day:
    as_of_date: dt.date
    publish_id: str


def last_of_each_day(log: Sequence[Mapping[str, Any]]) -> list[_Day]:
    days: dict[dt.date, _Day] = {}
    for row in log:  # newest first
        if row["as_of_date"] is not None and row["as_of_date"] not in days:
            days[row["as_of_date"]] = _Day(row["as_of_date"], row["publish_id"])
    return sorted(days.values(), key=lambda d: d.as_of_date, reverse=True)


# --------------------------------------------------------------------------- the read side


def served_publish(cur: Any, serving: PostgresServing) -> dict[str, Any] | None:
    """The publish-log row of what BI reads now (from the served schema itself), or None."""
    if serving.served_schema not in schemas_named(cur, serving.served_schema):
        return None
    if PUBLISH_MARKER not in tables_in(cur, serving.served_schema):
        return None
    rows = fetch_rows(
        cur, f"select * from {quote_identifier(serving.served_schema)}.{PUBLISH_MARKER} limit 1"
    )
    return rows[0] if rows else None


def read_publish_log_postgres(serving: PostgresServing, limit: int = 5) -> list[dict[str, Any]]:
    """The last publishes in PostgreSQL, newest first ([] when nothing was published there)."""
    with connect(serving.dsn) as con, con.cursor() as cur:
        if serving.history_schema not in schemas_named(cur, serving.history_schema):
            return []
        return fetch_rows(
            cur,
            f"select * from {quote_identifier(serving.history_schema)}.publish_log "
            f"order by published_at desc, publish_id desc limit {int(limit)}",
        )


def read_alerts_postgres(serving: PostgresServing, run_id: str | None = None) -> list[dict[str, Any]]:
    with connect(serving.dsn) as con, con.cursor() as cur:
        if serving.history_schema not in schemas_named(cur, serving.history_schema):
            return []
        where, params = ("where run_id = %s", [run_id]) if run_id else ("", [])
        return fetch_rows(
            cur,
            f"select * from {quote_identifier(serving.history_schema)}.alerts {where} order by created_at",
            params,
        )


def kept_days_postgres(serving: PostgresServing) -> list[KeptDay]:
    """The published days whose marts are still in PostgreSQL, newest first: the last publish of
    each as_of_date whose schema is there (the current one is the served schema itself).
    `KeptDay.parquet_version` is the schema that holds that day's marts."""
    with connect(serving.dsn) as con, con.cursor() as cur:
        current = served_publish(cur, serving)
        if serving.history_schema not in schemas_named(cur, serving.history_schema):
            return []
        log = fetch_rows(
            cur,
            f"select publish_id, as_of_date, published_at from "
            f"{quote_identifier(serving.history_schema)}.publish_log order by published_at desc, publish_id desc",
        )
        schemas = schemas_named(cur, serving.served_schema)
    published = {row["publish_id"]: row["published_at"] for row in log}
    current_id = current["publish_id"] if current else None
    days = []
    for day in last_of_each_day(log):
        is_current = day.publish_id == current_id
        schema = serving.served_schema if is_current else serving.kept_schema(day.publish_id)
        if schema in schemas:
            days.append(
                KeptDay(day.as_of_date, day.publish_id, published[day.publish_id], schema, is_current)
            )
    return days


def describe_served_postgres(serving: PostgresServing) -> str:
    """What BI reads now in PostgreSQL, in words."""
    try:
        with connect(serving.dsn) as con, con.cursor() as cur:
            last = served_publish(cur, serving)
    except Exception as error:
        return f"what is served could not be read ({type(error).__name__}: {error})"
    if last is None:
        return f"nothing has been published to {serving.describe()} yet"
    return (
        f"BI reads publish {last['publish_id']} (as_of_date {last['as_of_date']}, published "
        f"{last['published_at']:%Y-%m-%d %H:%M:%S} UTC) in {serving.describe()}"
    )


def copy_into_duckdb(cur: Any, duck: Any, tables: Mapping[str, str]) -> dict[str, int]:
    """Each PostgreSQL table (`{"marts.deal_risk": '"revops_served"."deal_risk"'}`: the DuckDB
    name it gets, the PostgreSQL relation it is read from) read through `cur` (psycopg2 ->
    Arrow) into the DuckDB connection `duck`. Returns the rows of each."""
    from revops.warehouse_targets import postgres_query_arrow

    counts = {}
    for name, source in tables.items():
        schema, table = name.split(".", 1)
        arrow = postgres_query_arrow(cur, f"select * from {source}")
        duck.execute(f"create schema if not exists {quote_identifier(schema)}")
        duck.register("_revops_pg_rows", arrow)
        try:
            duck.execute(
                f"create or replace table {quote_identifier(schema)}.{quote_identifier(table)} as "
                "select * from _revops_pg_rows"
            )
        finally:
            duck.unregister("_revops_pg_rows")
        counts[name] = arrow.num_rows
    return counts


def marts_into_duckdb(dsn: str, schema: str, marts: Sequence[str], duck: Any) -> dict[str, int]:
    """Marts of a PostgreSQL schema copied into `duck`'s schema `marts` (one transaction)."""
    with connect(dsn) as con, con.cursor() as cur:
        return copy_into_duckdb(
            cur, duck, {f"marts.{m}": f"{quote_identifier(schema)}.{quote_identifier(m)}" for m in marts}
        )


def postgres_dsn(environ: Mapping[str, str]) -> str:
    """The libpq connection string of the `postgres` dbt target, from the variables
    `dbt_project/profiles.yml` reads (REVOPS_PG_HOST, _PORT, _USER, _PASSWORD, _DATABASE),
    with the same defaults, in the mapping given."""
    parts = {
        "host": environ.get("REVOPS_PG_HOST", "127.0.0.1"),
        "port": environ.get("REVOPS_PG_PORT", "5432"),
        "user": environ.get("REVOPS_PG_USER", "postgres"),
        "password": environ.get("REVOPS_PG_PASSWORD", ""),
        "dbname": environ.get("REVOPS_PG_DATABASE", "revops"),
    }
    return " ".join(
        f"{key}='{value.replace(chr(92), chr(92) * 2).replace(chr(39), chr(92) + chr(39))}'"
        for key, value in parts.items()
        if value != ""
    )
