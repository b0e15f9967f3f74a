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


FLOATING_TYPES = ("DOUBLE", "FLOAT", "REAL")


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    return [
        (str(name), str(data_type))
        for name, data_type in con.execute(
            "select column_name, data_type from information_schema.columns where table_catalog = ? "
            "and table_schema = ? and table_name = ? order by ordinal_position",
            [catalog, schema, table],
        ).fetchall()
    ]


def compare_marts(incremental: Path, full: Path, schema: str = "marts") -> dict[str, str]:
    """{mart: "" when equal, else the first differences} for every table of `schema` in
    either warehouse: same columns, same number of rows, every value equal (doubles to
    1e-9 relative).

    The work is DuckDB's, not Python's (the largest mart has 81M rows at tier L): each row
    is hashed with its doubles rounded to 6 decimals and the hashes compared `except all`
    both ways; only the rows whose hash is in that difference are read into Python and
    paired with the tolerance (a double on a rounding boundary hashes differently on each
    side: such rows are candidates, not differences)."""
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
            result[name] = _mart_difference(con, schema, name)
        return result
    finally:
        con.close()


def _mart_difference(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str:
    a_columns, b_columns = _columns(con, "inc", schema, name), _columns(con, "ful", schema, name)
    if [c for c, _ in a_columns] != [c for c, _ in b_columns]:
        return f"columns differ: {[c for c, _ in a_columns]} vs {[c for c, _ in b_columns]}"
    a, b = f'inc."{schema}"."{name}"', f'ful."{schema}"."{name}"'
    a_count, b_count = con.execute(
        f"select (select count(*) from {a}), (select count(*) from {b})"
    ).fetchone()
    if a_count != b_count:
        return f"{a_count} rows in the daily sequence, {b_count} in the full rebuild"
    if not a_columns:
        return ""
    rounded = ", ".join(
        f'round("{c}", 6)' if data_type.upper() in FLOATING_TYPES else f'"{c}"' for c, data_type in a_columns
    )
    row_hash = f"hash({rounded})"
    candidates = f"""
        (select {row_hash} as h from {a} except all select {row_hash} from {b})
        union all
        (select {row_hash} from {b} except all select {row_hash} from {a})"""
    con.execute(f"create or replace temp table candidate_hashes as select distinct h from ({candidates})")
    if not con.execute("select count(*) from candidate_hashes").fetchone()[0]:
        return ""
    names = [c for c, _ in a_columns]
    rows = [
        con.execute(f"select * from {side} where {row_hash} in (select h from candidate_hashes)").fetchall()
        for side in (a, b)
    ]
    return _difference(names, rows[0], names, rows[1])


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
# the incremental intermediate models (macros/changed_deal_days.sql), compared whole
INCREMENTAL_INTERMEDIATE = ("int_deal_forecast_buckets_daily",)


def compare_staging(
    incremental: Path,
    full: Path,
    tables: tuple[str, ...] = INCREMENTAL_STAGING,
    schema: str = "staging",
    ignore: tuple[str, ...] = LOAD_COLUMNS,
) -> dict[str, str]:
    """{table: "" when equal, else what differs} for the incremental staging tables, compared
    in SQL (they are the largest tables: tens of millions of rows at tier L): the same rows,
    duplicates counted (`except all` both ways), without the `ignore` columns. Rows are compared
    by their hash (one 64-bit value a row): `except all` over whole rows spilled ~40 GB at tier L."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as inc (read_only)")
        con.execute(f"attach '{full}' as ful (read_only)")
        result: dict[str, str] = {}
        for name in tables:
            columns = [c for c, _ in _columns(con, "inc", schema, name) if c not in ignore]
            if not columns:
                result[name] = "not in the daily sequence"
                continue
            select = ", ".join(f'"{c}"' for c in columns)
            a, b = f'inc."{schema}"."{name}"', f'ful."{schema}"."{name}"'
            row = f"hash({select})"
            only_daily, only_full = con.execute(
                f"select (select count(*) from (select {row} from {a} except all select {row} from {b})), "
                f"(select count(*) from (select {row} from {b} except all select {row} from {a}))"
            ).fetchone()
            result[name] = (
                f"{only_daily} rows only in the daily sequence, {only_full} only in the full rebuild"
                if only_daily or only_full
                else ""
            )
        return result
    finally:
        con.close()
