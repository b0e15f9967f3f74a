"""Loading: one landing file into `<raw_schema>.<object>` in one transaction, and the whole folder."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from revops.crm_contract import CRM_OBJECTS, CrmObject
from revops.landing.casting import ColumnPlan, plan_columns
from revops.landing.errors import EXPECTED_FORMAT, MAX_EXAMPLES, BadValue, ColumnProblem, LandingFileError
from revops.landing.files import crm_object, find_landing_file
from revops.landing.headers import normalize_headers, read_csv_header
from revops.landing.load_log import ensure_load_log, upsert_load_log, utc_naive
from revops.landing.readers import csv_source, parquet_schema, parquet_source, read_error
from revops.sources.coverage import required_columns
from revops.sources.mapping import ObjectMapping
from revops.sql import one_row, quote_identifier, quote_literal, scalar

METADATA_COLUMNS = ("_source_file", "_source_row", "_loaded_at")


# The error() message that aborts the single-pass load when a value does not cast;
# the loader then runs the diagnostic query to say which values, where.
_BAD_VALUE_MARKER = "revops-landing: a value does not fit its declared type"


@dataclass(frozen=True)
class LoadResult:
    """What one load wrote: `table` is `<raw_schema>.<object>`."""

    object_name: str
    table: str
    source_file: Path
    row_count: int
    extra_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # contract column -> the file's column that fed it ("opportunity.csv: Next_Meeting__c"),
    # None when the file has no column for it (not tracked)
    mapped_from: dict[str, str | None] = field(default_factory=dict)


def _select_sql(columns: Sequence[ColumnPlan], source: str, file_name: str, loaded_at: dt.datetime) -> str:
    """One pass: cast every column; a value that does not cast aborts the query (the
    diagnostic query then explains it)."""
    checked = [c for c in columns if c.raw_sql is not None]
    inner = [f"{c.sql} as {quote_identifier(c.name)}" for c in columns]
    inner += [f"{c.raw_sql} as {quote_identifier('_raw_' + c.name)}" for c in checked]
    inner.append("src._line as _line")
    bad = " or ".join(
        f"({quote_identifier('_raw_' + c.name)} is not null and {quote_identifier(c.name)} is null)"
        for c in checked
    )
    outer = [quote_identifier(c.name) for c in columns]
    outer += [
        f"{quote_literal(file_name)} as _source_file",
        "cast(_line as bigint) as _source_row",
        f"cast({quote_literal(loaded_at.isoformat(sep=' '))} as timestamp) as _loaded_at",
    ]
    where = ""
    if bad:
        where = f"\nwhere case when {bad} then error({quote_literal(_BAD_VALUE_MARKER)}) else true end"
    return (
        f"select {', '.join(outer)}\n"
        f"from (\n    select {', '.join(inner)}\n    from {source} as src\n) as typed"
        f"{where}"
    )


def _diagnose(
    con: duckdb.DuckDBPyConnection, columns: Sequence[ColumnPlan], source: str
) -> tuple[list[ColumnProblem], int]:
    """Every column with values that do not cast: count and the first examples by line."""
    checked = [c for c in columns if c.raw_sql is not None]
    conditions = [f"({c.raw_sql} is not null and ({c.sql}) is null)" for c in checked]
    selects = []
    for c, cond in zip(checked, conditions, strict=False):
        selects.append(f"count(*) filter (where {cond})")
        selects.append(
            f"min_by(struct_pack(line := src._line, value := {c.raw_sql}), src._line, {MAX_EXAMPLES}) "
            f"filter (where {cond})"
        )
    selects.append(f"count(*) filter (where {' or '.join(conditions)})")
    row = one_row(con, f"select {', '.join(selects)} from {source} as src")
    problems = []
    for i, c in enumerate(checked):
        count, examples = row[2 * i], row[2 * i + 1]
        if count:
            problems.append(
                ColumnProblem(
                    column=c.name,
                    expected=EXPECTED_FORMAT[c.type_name],
                    bad_row_count=int(count),
                    examples=tuple(BadValue(int(e["line"]), str(e["value"])) for e in examples or []),
                )
            )
    return problems, int(row[-1])


def _bad_values_error(
    path: Path, crm: CrmObject, problems: Sequence[ColumnProblem], bad_rows: int, is_csv: bool
) -> LandingFileError:
    where = "line" if is_csv else "row"
    parts = []
    for p in problems:
        shown = ", ".join(f"{where} {e.line}: {e.value!r}" for e in p.examples)
        more = " (first five)" if p.bad_row_count > len(p.examples) else ""
        parts.append(
            f"column {p.column} should be {p.expected}, but {p.bad_row_count} "
            f"row{'s are' if p.bad_row_count != 1 else ' is'} not{more}: {shown}"
        )
    lines_note = " (line 1 is the header)" if is_csv else ""
    message = (
        f"Cannot load {path} into {crm.name}: {bad_rows} row{'s have' if bad_rows != 1 else ' has'} "
        f"values that do not fit their column{lines_note}: " + "; ".join(parts) + ". "
        "Fix these values in the export (leave a cell empty for no value) and load again."
    )
    return LandingFileError(
        message,
        file=path,
        object_name=crm.name,
        columns=[p.column for p in problems],
        row_count=bad_rows,
        problems=problems,
    )


def load_landing_object(
    con: duckdb.DuckDBPyConnection,
    obj: CrmObject | str,
    landing_dir: Path | str,
    *,
    raw_schema: str = "raw",
    loaded_at: dt.datetime | None = None,
    mapping: ObjectMapping | None = None,
) -> LoadResult | None:
    """Load the landing file of `obj` into `<raw_schema>.<object>`, replacing the table
    in one transaction. Raises LandingFileError (the previous table untouched) when the
    file is missing, unreadable, lacks a required column or has a value that does not
    fit its declared type. `loaded_at` (default now) is stored in UTC; a naive value
    is taken as UTC. `mapping` renames the file's columns to the contract's and names the
    file (default: the contract's names). An optional object without a file (and a
    mapping `from: null`) returns None and leaves the table to the caller."""
    started = time.monotonic()
    crm = crm_object(obj)
    if mapping is not None and mapping.source_name is None:
        return None
    path = find_landing_file(
        landing_dir, crm, stem=mapping.source_name if mapping else None, required=bool(required_columns(crm))
    )
    if path is None:
        return None
    loaded_at = utc_naive(loaded_at)
    is_csv = not path.name.lower().endswith(".parquet")

    if is_csv:
        names, mapped_from = normalize_headers(path, read_csv_header(path, crm), crm, mapping)
        columns, extras = plan_columns(names, None, crm)
        source = csv_source(path, names)
    else:
        headers, types = parquet_schema(con, path, crm)
        names, mapped_from = normalize_headers(path, headers, crm, mapping)
        # read_parquet names columns as written; select them under their normalized names
        renamed = ", ".join(
            f"{quote_identifier(h)} as {quote_identifier(n)}" for h, n in zip(headers, names, strict=False)
        )
        columns, extras = plan_columns(names, types, crm)
        source = f"(select {renamed}, _line from {parquet_source(path)})"

    schema = quote_identifier(raw_schema)
    table = f"{schema}.{quote_identifier(crm.name)}"
    select = _select_sql(columns, source, path.name, loaded_at)

    # No offset in a timestamp means UTC: parse with the session in UTC, then restore it.
    previous_tz = _session_time_zone(con)
    con.execute("set TimeZone = 'UTC'")
    try:
        con.execute("begin transaction")
        try:
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create or replace table {table} as\n{select}")
            row_count = scalar(con, f"select count(*) from {table}")
            ensure_load_log(con, schema)
            seconds = time.monotonic() - started
            upsert_load_log(con, schema, crm, path, row_count, extras, loaded_at, seconds)
            con.execute("commit")
        except BaseException as exc:
            con.execute("rollback")
            if isinstance(exc, duckdb.Error) and _BAD_VALUE_MARKER in str(exc):
                try:
                    problems, bad_rows = _diagnose(con, columns, source)
                except duckdb.Error as diagnose_exc:
                    raise read_error(path, crm, diagnose_exc) from None
                raise _bad_values_error(path, crm, problems, bad_rows, is_csv) from None
            if isinstance(exc, duckdb.Error):
                raise read_error(path, crm, exc) from None
            raise
    finally:
        if previous_tz:
            con.execute(f"set TimeZone = {quote_literal(previous_tz)}")

    return LoadResult(
        object_name=crm.name,
        table=f"{raw_schema}.{crm.name}",
        source_file=path,
        row_count=int(row_count),
        extra_columns=extras,
        seconds=round(time.monotonic() - started, 3),
        mapped_from=mapped_from,
    )


def _session_time_zone(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        return scalar(con, "select current_setting('TimeZone')")
    except duckdb.Error:
        return None


def load_landing_folder(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path | str,
    *,
    raw_schema: str = "raw",
    objects: Iterable[CrmObject | str] | None = None,
    loaded_at: dt.datetime | None = None,
) -> list[LoadResult]:
    """Load every object of the contract (or `objects`), one transaction each; stops at
    the first LandingFileError. All loads share one `_loaded_at`. Optional objects without
    a file are left out (`revops.sources` writes their empty tables and coverage)."""
    loaded_at = utc_naive(loaded_at)
    results = [
        load_landing_object(con, obj, landing_dir, raw_schema=raw_schema, loaded_at=loaded_at)
        for obj in (objects if objects is not None else CRM_OBJECTS.values())
    ]
    return [r for r in results if r is not None]
