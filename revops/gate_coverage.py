"""What the source actually had, as the raw gate sees it: `<raw schema>._source_coverage`.

Ingestion writes one row per contract column (object_name, column_name, is_tracked,
row_count, mapped_from, source). A column the source does not have is loaded as all
NULL and an object it does not have as an empty table: the checks on them would pass
or fail for no reason, so the gate skips them and reports them as *not tracked*
(neither passed nor failed):

- a suite whose object has row_count = 0 and no tracked column: every check;
- an expectation on a column with is_tracked = false (`column`, `column_list`, or the
  columns an `unexpected_rows_expectation` names in `meta.columns`);
- a foreign key into an object that is not tracked.

Without the table (older warehouses, bare dbt runs) everything counts as tracked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from revops.sql import scalar

COVERAGE_TABLE = "_source_coverage"


@dataclass(frozen=True)
class ObjectCoverage:
    row_count: int
    untracked_columns: frozenset[str] = field(default_factory=frozenset)
    tracked_columns: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_tracked(self) -> bool:
        """False for an object the source did not have at all."""
        return self.row_count > 0 or bool(self.tracked_columns)


def read_coverage(con: Any, schema: str) -> dict[str, ObjectCoverage] | None:
    """Coverage per object, or None when the table does not exist (everything tracked).
    `con`: the working DuckDB file, or the gate's PostgreSQL connection (the table is
    copied there with the raw tables)."""
    exists = scalar(
        con,
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, COVERAGE_TABLE],
    )
    if not exists:
        return None
    rows = con.execute(
        f'select object_name, column_name, is_tracked, row_count from "{schema}"."{COVERAGE_TABLE}"'
    ).fetchall()
    grouped: dict[str, dict] = {}
    for obj, column, tracked, rows_loaded in rows:
        entry = grouped.setdefault(obj, {"rows": 0, "tracked": set(), "untracked": set()})
        entry["rows"] = max(entry["rows"], int(rows_loaded or 0))
        (entry["tracked"] if tracked else entry["untracked"]).add(column)
    return {
        obj: ObjectCoverage(e["rows"], frozenset(e["untracked"]), frozenset(e["tracked"]))
        for obj, e in grouped.items()
    }


def untracked_reason(
    coverage: Mapping[str, ObjectCoverage] | None,
    table: str,
    expectation_type: str,
    kwargs: Mapping,
    meta: Mapping,
) -> str | None:
    """Why an expectation on `table` is not tracked, or None when it is to be run."""
    if coverage is None:
        return None
    own = coverage.get(table)
    if own is not None and not own.is_tracked:
        return f"the source has no {table} data"
    columns = [kwargs.get("column"), *(kwargs.get("column_list") or []), *(meta.get("columns") or [])]
    untracked = [c for c in columns if c and own is not None and c in own.untracked_columns]
    if untracked:
        return f"{', '.join(untracked)} not tracked in the source"
    if expectation_type == "expect_foreign_key_to_resolve":
        other = coverage.get(str(kwargs.get("to_table")))
        if other is not None and not other.is_tracked:
            return f"the source has no {kwargs.get('to_table')} data"
        if other is not None and kwargs.get("to_column", "id") in other.untracked_columns:
            return f"{kwargs.get('to_table')}.{kwargs.get('to_column', 'id')} not tracked in the source"
    return None
