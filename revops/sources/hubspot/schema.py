"""Reading Fivetran's HubSpot tables: which exist, their columns, and SQL for their values.

Fivetran writes HubSpot ids as integers (`deal_id`, `owner_id`, `company_id`; pipeline
and stage ids are strings), HubSpot properties as `property_<name>` columns, timestamps
in UTC, and marks deletes with `is_deleted` (deal, company) or `_fivetran_deleted`
(pipelines, stages, engagement types). The contract's ids are strings: an integer id
becomes its digits (`1244495215`), never `1244495215.0`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb

from revops.sources.conform import SourceError, SourceTable, find_table
from revops.sources.mapping import MappingError, ObjectMapping
from revops.sql import quote_identifier

DELETE_FLAGS = ("is_deleted", "_fivetran_deleted")
_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


@dataclass
class HubSpotSchema:
    """The HubSpot tables of `catalog.schema`, looked up once each."""

    con: duckdb.DuckDBPyConnection
    catalog: str
    schema: str
    _tables: dict[str, SourceTable | None] = field(default_factory=dict)

    def table(self, name: str | None) -> SourceTable | None:
        if not name:
            return None
        if name not in self._tables:
            self._tables[name] = find_table(self.con, self.catalog, self.schema, name)
        return self._tables[name]


def column_sql(table: SourceTable, alias: str, column: str) -> str:
    return f"{alias}.{quote_identifier(column)}"


def id_sql(table: SourceTable, alias: str, column: str) -> str:
    """An id column as the contract's string: digits for integer or float ids, trimmed text otherwise."""
    expression = column_sql(table, alias, column)
    type_name = table.columns[column].upper()
    if type_name.startswith(_FLOAT_TYPES):
        return f"cast(cast({expression} as hugeint) as varchar)"
    if type_name in ("VARCHAR", "TEXT", "STRING") or type_name.startswith("VARCHAR"):
        return f"nullif(trim({expression}), '')"
    return f"cast({expression} as varchar)"


def timestamp_sql(table: SourceTable, alias: str, column: str) -> str:
    """A timestamp column in UTC without a zone (Fivetran writes TIMESTAMP or TIMESTAMPTZ)."""
    expression = column_sql(table, alias, column)
    if "TIME ZONE" in table.columns[column].upper():
        return f"timezone('UTC', {expression})"
    return expression


def deleted_sql(table: SourceTable, alias: str) -> tuple[str, str] | None:
    """(SQL true for a deleted row, where that came from), or None when the table has no flag."""
    flags = [f for f in DELETE_FLAGS if f in table.columns]
    if not flags:
        return None
    sql = " or ".join(f"coalesce(try_cast({alias}.{quote_identifier(f)} as boolean), false)" for f in flags)
    return f"({sql})", " or ".join(f"{table.label}.{f}" for f in flags)


def not_deleted_sql(table: SourceTable, alias: str) -> str:
    deleted = deleted_sql(table, alias)
    return f"not {deleted[0]}" if deleted else "true"


def first_column(table: SourceTable | None, candidates: Iterable[str]) -> str | None:
    if table is None:
        return None
    return next((c for c in candidates if c in table.columns), None)


_UNSET = object()


def mapped_column(
    table: SourceTable, mapping: ObjectMapping, contract_column: str, defaults: Iterable[str]
) -> str | None:
    """The HubSpot column feeding `contract_column`: the one the mapping file names (which
    must exist), else the first of `defaults` the table has, else None (not tracked)."""
    explicit = mapping.columns.get(contract_column, _UNSET)
    if explicit is _UNSET:
        return first_column(table, defaults)
    try:
        return mapping.source_column(contract_column, set(table.columns))
    except MappingError as exc:
        raise SourceError(str(exc)) from None


def reject_explicit(mapping: ObjectMapping, computed: Iterable[str], how: str) -> None:
    """Columns the HubSpot conform computes itself cannot be remapped in the mapping file."""
    named = sorted(set(mapping.columns) & set(computed))
    if named:
        raise SourceError(
            f"the mapping names {', '.join(f'{mapping.object_name}.{c}' for c in named)}, but for "
            f"HubSpot {how}; remove {'them' if len(named) > 1 else 'it'} from the mapping file"
        )
