"""Writing SQL text safely: identifiers and literals quoted the one way every engine reads.

Values from the data are bound as parameters, never spliced; these are for names (schemas,
tables, columns) and for the few literals a statement cannot bind (DDL, ATTACH paths).
"""

from __future__ import annotations


def quote_identifier(name: object) -> str:
    """`"name"`, with embedded double quotes doubled (SQL standard; DuckDB, PostgreSQL)."""
    return '"' + str(name).replace('"', '""') + '"'


def qualified_name(schema: str, table: str) -> str:
    """`"schema"."table"`."""
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def quote_literal(text: object) -> str:
    """`'text'`, with embedded single quotes doubled."""
    return "'" + str(text).replace("'", "''") + "'"
