"""What the source actually had: one row per contract column, written beside the raw tables.

`<raw_schema>._source_coverage` says, for every column of every object of
`revops.crm_contract`, whether the source fed it (`is_tracked`), how many rows the object
had and where the values came from. The dbt models read it to tell *not tracked* from
*zero* (DESIGN.md, "Not tracked means unknown, never bad"); the raw gate skips checks of
columns that are not tracked; the `source_coverage` mart serves it to BI.

Plain values in, plain values out: no Dagster, no settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb

from revops.crm_contract import CRM_OBJECTS, CrmObject
from revops.sql import quote_identifier, scalar

COVERAGE_TABLE = "_source_coverage"

# DESIGN.md, "Real CRMs": the minimum a source must have to build at all.
MINIMUM_COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("id", "name"),
    "opportunity": (
        "id",
        "owner_id",
        "stage_name",
        "amount",
        "close_date",
        "created_date",
        "is_closed",
        "is_won",
    ),
}


# An optional object the source does have means nothing without these: a history row
# without its deal, a quota without its amount. Absent object: fine; present without them: an error.
PRESENT_OBJECT_MINIMUM: dict[str, tuple[str, ...]] = {
    "account": ("id",),
    "opportunity_history": ("opportunity_id", "stage_name", "created_date"),
    "task": ("what_id",),
    "event": ("what_id", "start_date_time"),
    "lead": ("id", "created_date"),
    "forecasting_quota": ("quota_owner_id", "start_date", "quota_amount"),
    "marketing_spend": ("month", "channel", "amount"),
    "subscription": ("account_id", "start_date", "mrr_amount"),
}


def required_columns(obj: CrmObject | str) -> tuple[str, ...]:
    """The columns without which nothing can be built (empty for an optional object)."""
    name = obj.name if isinstance(obj, CrmObject) else obj
    return MINIMUM_COLUMNS.get(name, ())


def present_object_columns(obj: CrmObject | str) -> tuple[str, ...]:
    """The columns a file or table of `obj` must have when the source has the object at all."""
    name = obj.name if isinstance(obj, CrmObject) else obj
    return MINIMUM_COLUMNS.get(name) or PRESENT_OBJECT_MINIMUM.get(name, ())


def is_required_object(obj: CrmObject | str) -> bool:
    return bool(required_columns(obj))


@dataclass(frozen=True)
class CoverageRow:
    object_name: str
    column_name: str
    is_tracked: bool
    row_count: int
    mapped_from: str | None
    source: str


def object_coverage(
    obj: CrmObject, *, source: str, row_count: int, mapped_from: Mapping[str, str | None]
) -> list[CoverageRow]:
    """One row per contract column of `obj`: tracked when `mapped_from` names where it
    came from. An absent object: `row_count` 0 and an empty `mapped_from`."""
    return [
        CoverageRow(
            object_name=obj.name,
            column_name=column,
            is_tracked=mapped_from.get(column) is not None,
            row_count=row_count,
            mapped_from=mapped_from.get(column),
            source=source,
        )
        for column in obj.columns
    ]


def absent_object_coverage(obj: CrmObject, *, source: str) -> list[CoverageRow]:
    return object_coverage(obj, source=source, row_count=0, mapped_from={})


def write_coverage(con: duckdb.DuckDBPyConnection, raw_schema: str, rows: Iterable[CoverageRow]) -> int:
    """Replace `<raw_schema>._source_coverage` with `rows`, in one statement."""
    rows = list(rows)
    schema = quote_identifier(raw_schema)
    con.execute(f"create schema if not exists {schema}")
    con.execute(
        f"""
        create or replace table {schema}.{quote_identifier(COVERAGE_TABLE)} (
            object_name varchar not null,
            column_name varchar not null,
            is_tracked boolean not null,
            row_count bigint not null,
            mapped_from varchar,
            source varchar not null,
            primary key (object_name, column_name)
        )
        """
    )
    if rows:
        con.executemany(
            f"insert into {schema}.{quote_identifier(COVERAGE_TABLE)} values (?, ?, ?, ?, ?, ?)",
            [
                (r.object_name, r.column_name, r.is_tracked, r.row_count, r.mapped_from, r.source)
                for r in rows
            ],
        )
    return len(rows)


def read_coverage(con: duckdb.DuckDBPyConnection, raw_schema: str) -> list[CoverageRow]:
    """The coverage rows of the last ingestion, or [] when none was recorded."""
    exists = scalar(
        con,
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [raw_schema, COVERAGE_TABLE],
    )
    if not exists:
        return []
    return [
        CoverageRow(*row)
        for row in con.execute(
            f"select object_name, column_name, is_tracked, row_count, mapped_from, source "
            f"from {quote_identifier(raw_schema)}.{quote_identifier(COVERAGE_TABLE)} order by object_name, column_name"
        ).fetchall()
    ]


def untracked_summary(rows: Iterable[CoverageRow]) -> list[str]:
    """Lines for people: which objects were absent and which columns not tracked."""
    by_object: dict[str, list[CoverageRow]] = {}
    for row in rows:
        by_object.setdefault(row.object_name, []).append(row)
    lines = []
    for name in CRM_OBJECTS:
        object_rows = by_object.get(name, [])
        if not object_rows:
            continue
        if not any(r.is_tracked for r in object_rows):
            lines.append(f"{name}: not in the source (an empty input; what needs it is unknown)")
            continue
        missing = [r.column_name for r in object_rows if not r.is_tracked]
        if missing:
            lines.append(f"{name}: not tracked: {', '.join(missing)}")
    return lines
