"""Contract-shaped raw tables from tables a connector already loaded.

A connector source (a Fivetran Salesforce or HubSpot schema) is read where it lies, in a
database DuckDB attaches, and written into `<raw_schema>.<object>` with exactly the
contract's columns and types, then `_source_file`, `_source_row` and `_loaded_at`, the same
shape the landing loader writes. Everything downstream (gate, dbt, publish) is the same
whatever the source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from revops.crm_contract import CrmObject
from revops.sources.mapping import MappingError
from revops.sql import one_row, quote_identifier, quote_literal, scalar

if TYPE_CHECKING:
    from revops.sources.mapping import ObjectMapping

MAX_EXAMPLES = 5


class SourceError(ValueError):
    """A source that cannot be read as configured, explained for people."""


@dataclass(frozen=True)
class SourceTable:
    """A table of the source: `sql` is its qualified name, `columns` its columns and types."""

    label: str  # for people and `_source_file`: `salesforce.opportunity`
    sql: str
    columns: Mapping[str, str]


def find_table(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> SourceTable | None:
    """The table `catalog.schema.table` with its columns (lower-case names), or None."""
    rows = con.execute(
        """
        select column_name, data_type
        from information_schema.columns
        where table_catalog = ? and table_schema = ? and lower(table_name) = lower(?)
        order by ordinal_position
        """,
        [catalog, schema, table],
    ).fetchall()
    if not rows:
        return None
    actual = scalar(
        con,
        """
        select table_name from information_schema.tables
        where table_catalog = ? and table_schema = ? and lower(table_name) = lower(?)
        """,
        [catalog, schema, table],
    )
    return SourceTable(
        label=f"{schema}.{actual}",
        sql=f"{quote_identifier(catalog)}.{quote_identifier(schema)}.{quote_identifier(actual)}",
        columns={name.lower(): data_type for name, data_type in rows},
    )


def contract_expressions(
    obj: CrmObject,
    table: SourceTable,
    mapping: ObjectMapping,
    *,
    overrides: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """(SQL expression per contract column or None, where each came from) for `table`
    under `mapping` (an ObjectMapping). `overrides` give expressions of the caller's own
    (e.g. is_deleted from `_fivetran_deleted`), each with its description."""
    expressions: dict[str, str | None] = {}
    mapped_from: dict[str, str | None] = {}
    available = set(table.columns)
    for column in obj.columns:
        if overrides and column in overrides:
            expressions[column], mapped_from[column] = overrides[column]
            continue
        try:
            source_column = mapping.source_column(column, available)
        except MappingError as exc:
            raise SourceError(str(exc)) from None
        expressions[column] = f"src.{quote_identifier(source_column)}" if source_column else None
        mapped_from[column] = f"{table.label}.{source_column}" if source_column else None
    return expressions, mapped_from


def _cast(expression: str | None, type_name: str) -> str:
    if expression is None:
        return f"cast(null as {type_name})"
    return f"try_cast({expression} as {type_name})"


def write_contract_table(
    con: duckdb.DuckDBPyConnection,
    obj: CrmObject,
    raw_schema: str,
    *,
    expressions: Mapping[str, str | None],
    from_sql: str | None,
    label: str,
    loaded_at: dt.datetime,
    order_by: str | None = None,
    extras: Mapping[str, str] | None = None,
) -> int:
    """Replace `<raw_schema>.<object>` with the contract's columns from `from_sql` (a
    query or table aliased `src`; None: an empty table), then `extras` (name -> SQL, kept
    as VARCHAR: the custom fields a mapping passes through). A value that does not cast to
    its contract type is an error naming the table, the column and examples, never a NULL."""
    if from_sql is not None:
        _check_casts(con, obj, expressions, from_sql, label)
    selects = [f"{_cast(expressions.get(c), t)} as {quote_identifier(c)}" for c, t in obj.columns.items()]
    selects += [f"cast({sql} as varchar) as {quote_identifier(name)}" for name, sql in (extras or {}).items()]
    selects += [
        f"{quote_literal(label)} as _source_file",
        f"cast(row_number() over ({('order by ' + order_by) if order_by else ''}) as bigint) as _source_row",
        f"cast({quote_literal(loaded_at.isoformat(sep=' '))} as timestamp) as _loaded_at",
    ]
    source = f"from {from_sql} as src" if from_sql is not None else "where false"
    schema = quote_identifier(raw_schema)
    con.execute(f"create schema if not exists {schema}")
    con.execute(
        f"create or replace table {schema}.{quote_identifier(obj.name)} as select {', '.join(selects)} {source}"
    )
    return scalar(con, f"select count(*) from {schema}.{quote_identifier(obj.name)}")


def _check_casts(
    con: duckdb.DuckDBPyConnection,
    obj: CrmObject,
    expressions: Mapping[str, str | None],
    from_sql: str,
    label: str,
) -> None:
    problems = []
    for column, type_name in obj.columns.items():
        expression = expressions.get(column)
        if expression is None:
            continue
        bad = f"({expression}) is not null and try_cast({expression} as {type_name}) is null"
        count, examples = one_row(
            con,
            f"select count(*) filter (where {bad}), "
            f"list(distinct cast({expression} as varchar)) filter (where {bad}) "
            f"from {from_sql} as src",
        )
        if count:
            shown = ", ".join(repr(v) for v in sorted(examples)[:MAX_EXAMPLES])
            problems.append(f"{column} expects {type_name}: {count} rows are not ({shown})")
    if problems:
        raise SourceError(f"Cannot read {label} as {obj.name}: " + "; ".join(problems) + ".")
