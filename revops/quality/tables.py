"""A table being validated: its columns and types, its live rows, and how to show an example row."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from revops.quality.postgres import DUCKDB, PostgresGateConnection, engine_of
from revops.quality.results import Example, render_value
from revops.quality.suites import EXAMPLE_LIMIT
from revops.sql import qualified_name, quote_identifier, scalar


def existing_tables(con: Any, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    return {r[0] for r in rows}


def column_types(con: Any, schema: str, table: str) -> list[tuple[str, str]]:
    """(column, type) in table order, the types as DuckDB names them on either engine."""
    if isinstance(con, PostgresGateConnection):
        return con.column_types(schema, table)
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [(c, t) for c, t in rows]


class Table:
    """A table being validated: its columns and types, and how to show an example row."""

    def __init__(
        self,
        con: Any,
        schema: str,
        name: str,
        example_columns: Sequence[str],
        deleted_flag: str | None = None,
    ) -> None:
        self.con, self.schema, self.name = con, schema, name
        self.engine = engine_of(con)  # duckdb or postgres: the same SQL text runs on both
        self.physical = self.qualified = qualified_name(schema, name)
        self.display = f"{schema}.{name}"
        rows = column_types(con, schema, name)
        self.exists = bool(rows) or name in existing_tables(con, schema)
        self.types = {c: t.upper() for c, t in rows}
        self.example_columns = [c for c in example_columns if c in self.types]
        if not self.example_columns and "id" in self.types:
            self.example_columns = ["id"]
        self._row_count: int | None = None
        self.live_filter = ""
        if deleted_flag and deleted_flag in self.types:
            # the checks see live rows only: soft-deleted rows never count (DESIGN.md)
            self.live_filter = f"{quote_identifier(deleted_flag)} is not true"
            live = f"select * from {self.physical} where {self.live_filter}"
            if self.engine == DUCKDB:
                self.qualified = f"({live})"
            else:  # PostgreSQL 15 wants an alias on a subquery in FROM: a view of the session
                view = quote_identifier(f"revops_live_{name}")
                con.execute(f"create or replace temporary view {view} as {live}")
                self.qualified = f"pg_temp.{view}"
        self.filtered = self.qualified != self.physical

    def live_rows(self) -> str:
        """A query of the rows the checks see (soft-deleted ones left out)."""
        where = f" where {self.live_filter}" if self.live_filter else ""
        return f"select * from {self.physical}{where}"

    @property
    def physical_row_count(self) -> int:
        """Every row, soft-deleted ones included (what the loader counted)."""
        if not self.filtered:
            return self.row_count
        return scalar(self.con, f"select count(*) from {self.physical}")

    @property
    def row_count(self) -> int:
        if self._row_count is None:
            self._row_count = scalar(self.con, f"select count(*) from {self.qualified}")
        return self._row_count

    def missing(self, columns: Iterable[str]) -> list[str]:
        return [c for c in columns if c and c not in self.types]

    def order_by(self) -> str:
        if not self.example_columns:
            return ""
        return " order by " + ", ".join(quote_identifier(c) for c in self.example_columns)

    def example_select(self) -> str:
        return ", ".join(quote_identifier(c) for c in self.example_columns)

    def source_of(self, values: Sequence[Any]) -> str:
        """Where an example row came from: `opportunity.csv line 14`, or its key."""
        cols = dict(zip(self.example_columns, values, strict=False))
        if "_source_file" in cols:
            name = os.path.basename(str(cols["_source_file"]))
            unit = "line" if ".csv" in name.lower() else "row"
            row = cols.get("_source_row")
            return f"{name} {unit} {row}" if row is not None else name
        return ", ".join(f"{k}={render_value(v)}" for k, v in cols.items())

    def examples(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Example, ...]:
        """Rows of `select value, <example columns> ...`, as examples."""
        rows = self.con.execute(sql, list(params or [])).fetchall()
        return tuple(Example(r[0], self.source_of(r[1:])) for r in rows[:EXAMPLE_LIMIT])
