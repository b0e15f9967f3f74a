"""Row-for-row comparison of the marts of two DuckDB warehouses (the daily sequence and a full rebuild)."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

REL_TOL = 1e-9  # doubles: summation order may differ between an incremental and a full build
ABS_TOL = 1e-12


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return type(a) is type(b) and a == b


def _sort_value(value: object) -> tuple:
    if value is None:
        return (0, 0)
    if isinstance(value, float):  # rounded, so that last-bit differences sort alike
        return (1, round(value, 6))
    if isinstance(value, (list, dict)):
        return (2, str(value))
    return (1, value)


def _sort_key(row: tuple) -> tuple:
    return tuple(_sort_value(v) for v in row)


def compare_marts(incremental: Path, full: Path, schema: str = "marts") -> dict[str, str]:
    """{mart: "" when equal, else the first differences} for every table of `schema` in
    either warehouse: same columns, same number of rows, every value equal (doubles to
    1e-9 relative)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as inc (read_only)")
        con.execute(f"attach '{full}' as ful (read_only)")

        def tables(catalog: str) -> set[str]:
            return {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_catalog = ? and table_schema = ?",
                    [catalog, schema],
                ).fetchall()
            }

        result: dict[str, str] = {}
        inc_tables, full_tables = tables("inc"), tables("ful")
        for name in sorted(inc_tables | full_tables):
            if name not in inc_tables or name not in full_tables:
                result[name] = f"only in the {'full rebuild' if name in full_tables else 'daily sequence'}"
                continue
            a = con.execute(f'select * from inc."{schema}"."{name}"')
            a_columns = [c[0] for c in a.description]
            a_rows = a.fetchall()
            b = con.execute(f'select * from ful."{schema}"."{name}"')
            b_columns = [c[0] for c in b.description]
            b_rows = b.fetchall()
            result[name] = _difference(a_columns, a_rows, b_columns, b_rows)
        return result
    finally:
        con.close()


def _difference(a_columns: list[str], a_rows: list[tuple], b_columns: list[str], b_rows: list[tuple]) -> str:
    if a_columns != b_columns:
        return f"columns differ: {a_columns} vs {b_columns}"
    if len(a_rows) != len(b_rows):
        return f"{len(a_rows)} rows in the daily sequence, {len(b_rows)} in the full rebuild"
    a_rows, b_rows = sorted(a_rows, key=_sort_key), sorted(b_rows, key=_sort_key)
    differences = [
        f"row {i}: {column} {x!r} vs {y!r}"
        for i, (ra, rb) in enumerate(zip(a_rows, b_rows, strict=True))
        for column, x, y in zip(a_columns, ra, rb, strict=True)
        if not _same(x, y)
    ]
    if not differences:
        return ""
    return f"{len(differences)} values differ, e.g. " + "; ".join(differences[:3])


# the incremental staging tables (models/staging, macros/changed_rows.sql) and what may differ
# between a daily sequence and a rebuild: `_loaded_at`, the load that last wrote a raw row
# (a rebuild reloads every row)
INCREMENTAL_STAGING = (
    "stg_salesforce__tasks",
    "stg_salesforce__events",
    "stg_salesforce__opportunity_history",
)
LOAD_COLUMNS = ("_loaded_at",)


def compare_staging(
    incremental: Path,
    full: Path,
    tables: tuple[str, ...] = INCREMENTAL_STAGING,
    schema: str = "staging",
    ignore: tuple[str, ...] = LOAD_COLUMNS,
) -> dict[str, str]:
    """{table: "" when equal, else what differs} for the incremental staging tables, compared
    in SQL (they are the largest tables: tens of millions of rows at tier L): the same rows,
    duplicates counted (`except all` both ways), without the `ignore` columns."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as inc (read_only)")
        con.execute(f"attach '{full}' as ful (read_only)")
        result: dict[str, str] = {}
        for name in tables:
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_catalog = 'inc' "
                    "and table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, name],
                ).fetchall()
                if r[0] not in ignore
            ]
            if not columns:
                result[name] = "not in the daily sequence"
                continue
            select = ", ".join(f'"{c}"' for c in columns)
            a, b = f'inc."{schema}"."{name}"', f'ful."{schema}"."{name}"'
            only_daily, only_full = con.execute(
                f"select (select count(*) from (select {select} from {a} except all select {select} from {b})), "
                f"(select count(*) from (select {select} from {b} except all select {select} from {a}))"
            ).fetchone()
            result[name] = (
                f"{only_daily} rows only in the daily sequence, {only_full} only in the full rebuild"
                if only_daily or only_full
                else ""
            )
        return result
    finally:
        con.close()
