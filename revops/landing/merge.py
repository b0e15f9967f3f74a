"""Merging a landing file into its raw table by id and modification time.

A row of the file replaces the raw row with the same id only when its modification time is
not older (`system_modstamp`, else `last_modified_date`, where both sides have the column; a
row without one counts as newest, so a later delivery wins). Deletions stay as soft deletes:
a row gone from a full file keeps its raw row with `is_deleted` true (and `_source_row`
NULL: it is on no line of any file), and a change file's row
with `is_deleted` true replaces the live one, so staging filters both as it filters any
deleted row. Counts say what each file did: new, changed (deleted ones included), unchanged
(the same values), deleted (now flagged, or gone), older (the raw row is newer: kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import duckdb

from revops.sql import one_row, quote_identifier, scalar

KEY = "id"
DELETED = "is_deleted"
MODIFICATION_COLUMNS = ("system_modstamp", "last_modified_date")
# columns the loader writes: not part of a row's value
_METADATA = ("_source_file", "_source_row", "_loaded_at")
LOADED_AT = "_loaded_at"  # when the loader last inserted or changed the row (deletions included)


@dataclass
class MergeCounts:
    new_rows: int = 0
    changed_rows: int = 0
    unchanged_rows: int = 0
    deleted_rows: int = 0
    older_rows: int = 0

    def add(self, other: MergeCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of a table's columns, in order."""
    return [(r[0], r[1]) for r in con.execute(f"describe {table}").fetchall()]


def modification_column(columns: Sequence[str]) -> str | None:
    return next((c for c in MODIFICATION_COLUMNS if c in columns), None)


def _q(alias: str, column: str) -> str:
    return f"{alias}.{quote_identifier(column)}"


def _take_incoming(mod: str | None) -> str:
    """SQL: the incoming row `i` replaces the raw row `c` (same id)."""
    if mod is None:
        return "true"
    i, c = f"try_cast({_q('i', mod)} as timestamp)", f"try_cast({_q('c', mod)} as timestamp)"
    return f"({i} is null or {c} is null or {i} >= {c})"


def _differs(columns: Sequence[str]) -> str:
    value_columns = [c for c in columns if c not in _METADATA]
    return (
        "not (" + " and ".join(f"{_q('i', c)} is not distinct from {_q('c', c)}" for c in value_columns) + ")"
    )


def _deleted(alias: str) -> str:
    return f"coalesce(cast({_q(alias, DELETED)} as boolean), false)"


def _incoming_counts(
    con: duckdb.DuckDBPyConnection, incoming: str, table: str, take: str, differs: str, deleted: str
) -> MergeCounts:
    """What merging the rows of `incoming` into `table` by id does: new ids, changed and
    unchanged rows among those taken (`take`: not older), rows older than raw's, and taken
    rows that newly flag a deletion (`deleted`)."""
    key = quote_identifier(KEY)
    row = one_row(
        con,
        f"""
        select
            count(*) filter (where c.{key} is null),
            count(*) filter (where c.{key} is not null and {take} and {differs}),
            count(*) filter (where c.{key} is not null and {take} and not ({differs})),
            count(*) filter (where c.{key} is not null and {take} and {deleted}),
            count(*) filter (where c.{key} is not null and not {take})
        from {incoming} as i left join {table} as c on c.{key} = i.{key}
        """,
    )
    return MergeCounts(*(int(n) for n in row))


def duplicate_ids(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(scalar(con, f"select count(*) - count(distinct {quote_identifier(KEY)}) from {table}"))


def gone_share(con: duckdb.DuckDBPyConnection, table: str, incoming: str) -> float:
    """The share of the table's live rows whose id a full file no longer has."""
    key = quote_identifier(KEY)
    live, gone = one_row(
        con,
        f"select count(*), count(*) filter (where not exists "
        f"(select 1 from {incoming} as i where i.{key} = c.{key})) "
        f"from {table} as c where not {_deleted('c')}",
    )
    return gone / live if live else 0.0


def upsert_changes(con: duckdb.DuckDBPyConnection, table: str, incoming: str) -> MergeCounts:
    """Apply a change file staged in `incoming` to `table` (rows of other ids untouched).
    Within the file, the newest version of an id wins (then the last line)."""
    raw_columns = dict(table_columns(con, table))
    incoming_columns = table_columns(con, incoming)
    for name, _type in incoming_columns:  # an extra column the raw table does not have yet
        if name not in raw_columns:
            con.execute(f"alter table {table} add column {quote_identifier(name)} varchar")
    names = [n for n, _ in incoming_columns]
    mod = modification_column([n for n in names if n in raw_columns])
    key = quote_identifier(KEY)
    order = f"try_cast({quote_identifier(mod)} as timestamp) desc nulls last, " if mod else ""
    con.execute(
        f"create or replace temp table _revops_changes as select * from {incoming} "
        f"qualify row_number() over (partition by {key} order by {order}_source_row desc) = 1"
    )
    shared = [n for n in names if n in raw_columns]
    take, differs = _take_incoming(mod), _differs(shared)
    deleted = f"{_deleted('i')} and not {_deleted('c')}" if DELETED in shared else "false"
    counts = _incoming_counts(con, "_revops_changes", table, take, differs, deleted)
    con.execute(
        f"""
        create or replace temp table _revops_apply as
        select i.* from _revops_changes as i
        where not exists (select 1 from {table} as c where c.{key} = i.{key})
            or exists (select 1 from {table} as c where c.{key} = i.{key} and {take} and {differs})
        """
    )
    con.execute(f"delete from {table} where {key} in (select {key} from _revops_apply)")
    con.execute(f"insert into {table} by name select * from _revops_apply")
    con.execute("drop table _revops_changes")
    con.execute("drop table _revops_apply")
    return counts


def merge_full_file(con: duckdb.DuckDBPyConnection, table: str, incoming: str) -> MergeCounts:
    """Merge a full file staged in `incoming` (unique ids, the raw table's columns) into
    `table`: rows gone from the file are kept, flagged deleted. Rewrites the table."""
    names = [n for n, _ in table_columns(con, table)]
    mod = modification_column(names)
    key = quote_identifier(KEY)
    take, differs = _take_incoming(mod), _differs(names)
    incoming_counts = _incoming_counts(
        con, incoming, table, take, differs, f"{_deleted('i')} and not {_deleted('c')}"
    )
    gone = int(
        scalar(
            con,
            f"select count(*) from {table} as c where not {_deleted('c')} "
            f"and not exists (select 1 from {incoming} as i where i.{key} = c.{key})",
        )
    )
    counts = replace(
        incoming_counts,
        changed_rows=incoming_counts.changed_rows + gone,
        deleted_rows=incoming_counts.deleted_rows + gone,
    )
    columns = ", ".join(quote_identifier(n) for n in names)
    # a row gone from the file: flagged deleted, and on no line of any file (`_source_row`
    # NULL), so the rows the files hold are count(_source_row); one newly flagged takes the
    # load's `_loaded_at` (the change marker incremental staging reads), one flagged before
    # keeps its own
    gone_values = {
        DELETED: "true",
        "_source_row": "cast(null as bigint)",
        LOADED_AT: f"case when {_deleted('c')} then {_q('c', LOADED_AT)} "
        f"else coalesce((select max({quote_identifier(LOADED_AT)}) from {incoming}), "
        "cast(current_timestamp as timestamp)) end",
    }
    deleted_columns = ", ".join(
        f"{gone_values[n]} as {quote_identifier(n)}" if n in gone_values else _q("c", n) for n in names
    )
    con.execute(
        f"""
        create or replace table {table} as
        select {columns} from {incoming} as i
        where not exists (select 1 from {table} as c where c.{key} = i.{key})
            or exists (select 1 from {table} as c where c.{key} = i.{key} and {take} and {differs})
        union all
        select {columns} from {table} as c
        where exists (select 1 from {incoming} as i where i.{key} = c.{key} and not ({take} and {differs}))
        union all
        select {deleted_columns} from {table} as c
        where not exists (select 1 from {incoming} as i where i.{key} = c.{key})
        """
    )
    return counts


def reload_counts(con: duckdb.DuckDBPyConnection, previous: str, table: str) -> MergeCounts | None:
    """What a reload changed against the previous table (same id), or None when the object
    has no id to compare by."""
    names = [n for n, _ in table_columns(con, table)]
    if KEY not in names or KEY not in dict(table_columns(con, previous)):
        return None
    shared = [n for n in names if n in dict(table_columns(con, previous))]
    key = quote_identifier(KEY)
    differs = _differs(shared)
    deleted = f"{_deleted('i')} and not {_deleted('c')}" if DELETED in shared else "false"
    row = one_row(
        con,
        f"""
        select
            count(*) filter (where c.{key} is null),
            count(*) filter (where c.{key} is not null and {differs}),
            count(*) filter (where c.{key} is not null and not ({differs})),
            count(*) filter (where c.{key} is not null and {deleted})
        from {table} as i left join {previous} as c on c.{key} = i.{key}
        """,
    )
    gone = int(
        scalar(
            con,
            f"select count(*) from {previous} as c "
            f"where not exists (select 1 from {table} as i where i.{key} = c.{key})",
        )
    )
    return MergeCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]) + gone, 0)
