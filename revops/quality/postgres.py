"""The raw gate's connection to PostgreSQL: the same calls the gate makes on DuckDB.

On the postgres target the raw tables are copied to PostgreSQL before the gate
(`revops.warehouse_targets.copy_raw_to_postgres`) and the gate validates them there, in
place: Great Expectations through its SQL datasource for PostgreSQL (`gx_engine`), the
set-based checks as SQL (`sql_engine`), one SQL text for both engines. This module is
what lets that SQL text run on either: `PostgresGateConnection.execute` takes DuckDB's
parameter styles (`?` and `$name`) and hands psycopg2 its own (`%s`, `%(name)s`), and
column types are named as DuckDB names them (`text` -> VARCHAR, `double precision` ->
DOUBLE), so the checks that look at types decide the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

DUCKDB = "duckdb"
POSTGRES = "postgres"
ENGINE_NAMES = {DUCKDB: "DuckDB", POSTGRES: "PostgreSQL"}

# PostgreSQL's information_schema data_type -> DuckDB's type name (the inverse of
# `revops.warehouse_targets.POSTGRES_TYPES` for the types the copy writes)
_DUCKDB_TYPE_OF = {
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "boolean": "BOOLEAN",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "date": "DATE",
    "time without time zone": "TIME",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "uuid": "UUID",
    "jsonb": "JSON",
    "numeric": "DECIMAL",
}
# array element types by udt_name (`_text` is text[])
_DUCKDB_ELEMENT_OF = {
    "_text": "VARCHAR",
    "_varchar": "VARCHAR",
    "_bool": "BOOLEAN",
    "_int2": "SMALLINT",
    "_int4": "INTEGER",
    "_int8": "BIGINT",
    "_float4": "FLOAT",
    "_float8": "DOUBLE",
    "_date": "DATE",
    "_timestamp": "TIMESTAMP",
}

_NAMED_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")


def duckdb_type_name(data_type: str, udt_name: str = "") -> str:
    """DuckDB's name for a PostgreSQL column type (`double precision` -> DOUBLE)."""
    if data_type == "ARRAY":
        return _DUCKDB_ELEMENT_OF.get(udt_name, udt_name.lstrip("_").upper()) + "[]"
    return _DUCKDB_TYPE_OF.get(data_type, data_type.upper())


def postgres_sql(sql: str) -> str:
    """DuckDB's parameter styles in `sql` as psycopg2's: `?` -> `%s`, `$name` -> `%(name)s`
    (a literal `%` doubled). The gate's SQL has no `?` or `$` inside string literals."""
    text = sql.replace("%", "%%")
    text = _NAMED_PARAMETER.sub(lambda m: f"%({m.group(1)})s", text)
    return text.replace("?", "%s")


@dataclass(frozen=True)
class PostgresTarget:
    """Where the gate reads on PostgreSQL: a libpq connection string and, for words, the
    database's name (`revops.warehouse_targets.postgres_dsn_from_env` gives the dsn)."""

    dsn: str

    def parts(self) -> dict[str, str]:
        import psycopg2.extensions

        return dict(psycopg2.extensions.parse_dsn(self.dsn))

    def sqlalchemy_url(self) -> str:
        """The same database as a SQLAlchemy URL (what GX's PostgreSQL datasource takes)."""
        parts = self.parts()
        user = quote(parts.get("user", ""), safe="")
        password = parts.get("password")
        auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
        host = parts.get("host", "localhost")
        port = f":{parts['port']}" if parts.get("port") else ""
        return f"postgresql+psycopg2://{auth}{host}{port}/{quote(parts.get('dbname', ''), safe='')}"

    def describe(self) -> str:
        parts = self.parts()
        return f"database {parts.get('dbname', '?')} on {parts.get('host', 'localhost')}:{parts.get('port', '5432')}"


class PostgresGateConnection:
    """A psycopg2 connection in autocommit (a failed check's statement aborts nothing
    else), answering `execute(sql, params)` as a DuckDB connection does."""

    engine = POSTGRES

    def __init__(self, target: PostgresTarget) -> None:
        import psycopg2

        self.target = target
        self._con = psycopg2.connect(target.dsn)
        self._con.autocommit = True
        self._con.set_client_encoding("UTF8")

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        cursor = self._con.cursor()
        values = dict(params) if isinstance(params, Mapping) else list(params or [])
        cursor.execute(postgres_sql(sql), values)
        return cursor

    def column_types(self, schema: str, table: str) -> list[tuple[str, str]]:
        rows = self.execute(
            "select column_name, data_type, udt_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        return [(name, duckdb_type_name(kind, udt)) for name, kind, udt in rows]

    def close(self) -> None:
        self._con.close()


def engine_of(con: Any) -> str:
    """`postgres` for a `PostgresGateConnection`, else `duckdb`."""
    return getattr(con, "engine", DUCKDB) if isinstance(con, PostgresGateConnection) else DUCKDB


def database_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a check's query raises on either engine (it fails the check, in words)."""
    import duckdb

    errors: list[type[BaseException]] = [duckdb.Error]
    try:
        import psycopg2

        errors.append(psycopg2.Error)
    except ImportError:  # the DuckDB-only install
        pass
    return tuple(errors)
