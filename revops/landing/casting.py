"""How each column is cast: text to the declared type in one set-based pass (ISO dates and
timestamps, numbers without separators), or a Parquet column's native type where it fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from revops.crm_contract import BOOLEAN, DATE, DOUBLE, INTEGER, TIMESTAMP, VARCHAR, CrmObject
from revops.crm_ids import is_id_column, normalized_id_sql
from revops.sql import quote_identifier

# The only date and time forms accepted from text: ISO 8601 with a four-digit year and
# two-digit month and day. DuckDB's own cast also takes `26-12-05` (year 26), `1-2-3`,
# `2026-08-01 (BC)` and `infinity`, none of which a CRM export means.
ISO_DATE = r"\d{4}-\d{2}-\d{2}"


ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)? ?(Z|z|[+-]\d{2}(:?\d{2})?)?"


def _text_cast(raw: str, type_name: str) -> str:
    """SQL casting trimmed text `raw` (NULL when empty) to `type_name`; NULL when it does
    not parse. Timestamps: parsed as TIMESTAMPTZ with the session in UTC (so no offset
    means UTC), then stored as the naive UTC timestamp."""
    if type_name == VARCHAR:
        return raw
    if type_name == BOOLEAN:
        return (
            f"case lower({raw}) when 'true' then true when '1' then true "
            f"when 'false' then false when '0' then false end"
        )
    if type_name == INTEGER:
        return (
            f"case when try_cast({raw} as double) = round(try_cast({raw} as double)) "
            f"then try_cast({raw} as bigint) end"
        )
    if type_name == DOUBLE:
        return f"case when isfinite(try_cast({raw} as double)) then try_cast({raw} as double) end"
    if type_name == DATE:
        return (
            f"case when regexp_full_match({raw}, '{ISO_DATE}') then try_cast({raw} as date) "
            f"when regexp_full_match({raw}, '{ISO_TIMESTAMP}') "
            f"then cast(make_timestamp(epoch_us(try_cast({raw} as timestamptz))) as date) end"
        )
    if type_name == TIMESTAMP:
        return (
            f"case when regexp_full_match({raw}, '{ISO_TIMESTAMP}') "
            f"then make_timestamp(epoch_us(try_cast({raw} as timestamptz))) end"
        )
    raise ValueError(f"no cast for declared type {type_name}")


_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}


_NAIVE_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}


def _native_cast(col: str, source_type: str, type_name: str) -> tuple[str, bool] | None:
    """(SQL, can_fail) reading a typed Parquet column as `type_name` without going
    through text, or None when only the text route applies."""
    st = source_type.upper()
    numeric = st in _INTEGER_TYPES or st in {"FLOAT", "DOUBLE"} or st.startswith("DECIMAL")
    if type_name == VARCHAR:
        return (col if st == "VARCHAR" else f"cast({col} as varchar)"), False
    if st == type_name:
        return col, False
    if type_name == INTEGER and st in _INTEGER_TYPES:
        return f"try_cast({col} as bigint)", True
    if type_name == DOUBLE and numeric:
        return f"cast({col} as double)", False
    if type_name == BOOLEAN and st in _INTEGER_TYPES:
        return f"case {col} when 1 then true when 0 then false end", True
    if type_name == TIMESTAMP and st in _NAIVE_TIMESTAMPS | {"DATE"}:
        return f"cast({col} as timestamp)", False
    if type_name == TIMESTAMP and st == "TIMESTAMP WITH TIME ZONE":
        return f"make_timestamp(epoch_us({col}))", False
    if type_name == DATE and st in _NAIVE_TIMESTAMPS:
        return f"cast({col} as date)", False
    if type_name == DATE and st == "TIMESTAMP WITH TIME ZONE":
        return f"cast(make_timestamp(epoch_us({col})) as date)", False
    return None


@dataclass(frozen=True)
class ColumnPlan:
    """One output column: its SQL from the source, and how to check it."""

    name: str
    sql: str
    raw_sql: str | None = None  # the value as text, when the cast can fail
    type_name: str = VARCHAR


def plan_columns(
    names: Sequence[str], source_types: Sequence[str] | None, crm: CrmObject
) -> tuple[list[ColumnPlan], list[str]]:
    """Declared columns (typed) then extras (VARCHAR), from the file's normalized names.
    `source_types` is None for CSV (everything is text)."""
    position = {name: i for i, name in enumerate(names)}
    columns = []
    for name, type_name in crm.columns.items():
        if name not in position:  # not tracked by this file: typed NULL, same shape as ever
            columns.append(ColumnPlan(name, f"cast(null as {type_name})", None, type_name))
            continue
        src = f"src.{quote_identifier(name)}"
        source_type = "VARCHAR" if source_types is None else source_types[position[name]]
        native = None if source_type == "VARCHAR" else _native_cast(src, source_type, type_name)
        if native is not None:
            sql, can_fail = native
            if type_name == VARCHAR and is_id_column(name):
                sql = normalized_id_sql(src)
            raw = f"cast({src} as varchar)" if can_fail else None
            columns.append(ColumnPlan(name, sql, raw, type_name))
            continue
        text = src if source_type == "VARCHAR" else f"cast({src} as varchar)"
        if type_name == VARCHAR and is_id_column(name):
            # trimmed, 15-character Salesforce ids in their 18-character form (revops.crm_ids)
            columns.append(ColumnPlan(name, normalized_id_sql(text), None, type_name))
        elif type_name == VARCHAR:
            columns.append(ColumnPlan(name, f"nullif({text}, '')", None, type_name))
        else:
            raw = f"nullif(trim({text}), '')"
            columns.append(ColumnPlan(name, _text_cast(raw, type_name), raw, type_name))
    extras = [n for n in names if n not in crm.columns]
    for name in extras:
        src = f"src.{quote_identifier(name)}"
        is_text = source_types is None or source_types[position[name]] == "VARCHAR"
        sql = src if is_text else f"cast({src} as varchar)"
        columns.append(ColumnPlan(name, sql, None, VARCHAR))
    return columns, extras
