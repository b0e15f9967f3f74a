"""Writing SQL text safely: identifiers and literals quoted the one way every engine reads.

Values from the data are bound as parameters, never spliced; these are for names (schemas,
tables, columns) and for the few literals a statement cannot bind (DDL, ATTACH paths).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def quote_identifier(name: object) -> str:
    """`"name"`, with embedded double quotes doubled (SQL standard; DuckDB, PostgreSQL)."""
    return '"' + str(name).replace('"', '""') + '"'


def qualified_name(schema: str, table: str) -> str:
    """`"schema"."table"`."""
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def quote_literal(text: object) -> str:
    """`'text'`, with embedded single quotes doubled."""
    return "'" + str(text).replace("'", "''") + "'"


def one_row(con: Any, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> tuple[Any, ...]:
    """The one row a query returns (`select count(*), max(...) ...`); a query that returns
    no row is a bug in the caller, said as such."""
    relation = con.execute(sql) if params is None else con.execute(sql, params)
    row = relation.fetchone()
    if row is None:
        raise LookupError(f"the query returned no row: {sql[:200]}")
    return row


def scalar(con: Any, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
    """The first column of the one row a query returns (`select count(*) ...`)."""
    return one_row(con, sql, params)[0]
