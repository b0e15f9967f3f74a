"""Loading: one landing file into `<raw_schema>.<object>` in one transaction, and the whole folder."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from revops.crm_contract import CRM_OBJECTS, CrmObject
from revops.landing.casting import ColumnPlan, plan_columns
from revops.landing.errors import EXPECTED_FORMAT, MAX_EXAMPLES, BadValue, ColumnProblem, LandingFileError
from revops.landing.files import change_label, crm_object, find_change_files, find_landing_file
from revops.landing.headers import normalize_headers, read_csv_header
from revops.landing.load_log import (
    applied_files,
    content_hash,
    ensure_load_log,
    record_applied_file,
    record_load_counts,
    upsert_load_log,
    utc_naive,
)
from revops.landing.merge import (
    MergeCounts,
    duplicate_ids,
    gone_share,
    merge_full_file,
    reload_counts,
    table_columns,
    upsert_changes,
)
from revops.landing.readers import csv_source, parquet_schema, parquet_source, read_error
from revops.sources.coverage import required_columns
from revops.sources.mapping import ObjectMapping
from revops.sql import one_row, quote_identifier, quote_literal, scalar

METADATA_COLUMNS = ("_source_file", "_source_row", "_loaded_at")
# A changed full file missing more than this share of the live rows is reloaded instead of
# merged (its missing rows would otherwise all become soft deletes): a truncated export then
# shrinks the raw table, and the gate's row-count check stops the build as it always did.
MAX_GONE_SHARE = 0.05


# The error() message that aborts the single-pass load when a value does not cast;
# the loader then runs the diagnostic query to say which values, where.
_BAD_VALUE_MARKER = "revops-landing: a value does not fit its declared type"


@dataclass(frozen=True)
class LoadResult:
    """What one load wrote: `table` is `<raw_schema>.<object>`."""

    object_name: str
    table: str
    source_file: Path
    row_count: int  # rows of the raw table
    # rows the files hold: row_count less the rows kept, flagged deleted, after they went
    # from a full file (what `source_coverage` counts, the same as a reload's)
    source_rows: int = 0
    extra_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # contract column -> the file's column that fed it ("opportunity.csv: Next_Meeting__c"),
    # None when the file has no column for it (not tracked)
    mapped_from: dict[str, str | None] = field(default_factory=dict)
    # what the load did: "reloaded" (the table rebuilt from all its files), "merged" (a changed
    # full file merged by id), "incremental" (the full file unchanged, new change files merged)
    load_mode: str = "reloaded"
    # new / changed / unchanged / deleted / older rows against the previous table; None when
    # the object has no id to compare by
    counts: dict[str, int] | None = None
    applied_files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """`12 new, 3 changed, 4,980 unchanged, 1 deleted; skipped opportunity.csv (unchanged)`."""
        if self.counts is None:
            text = f"{self.load_mode} (no id to compare by)"
        else:
            parts = [f"{self.counts['new_rows']:,} new", f"{self.counts['changed_rows']:,} changed"]
            parts.append(f"{self.counts['unchanged_rows']:,} unchanged")
            parts.append(f"{self.counts['deleted_rows']:,} deleted")
            if self.counts.get("older_rows"):
                parts.append(f"{self.counts['older_rows']:,} older than the raw row (kept)")
            text = ", ".join(parts)
        if self.skipped_files:
            text += f"; skipped {', '.join(self.skipped_files)} (unchanged)"
        return text


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


@dataclass(frozen=True)
class _FilePlan:
    """How one landing file is read and cast."""

    path: Path
    columns: list[ColumnPlan]
    source: str
    extras: list[str]
    mapped_from: dict[str, str | None]
    is_csv: bool


def _plan_file(
    con: duckdb.DuckDBPyConnection, crm: CrmObject, path: Path, mapping: ObjectMapping | None
) -> _FilePlan:
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
    return _FilePlan(path, columns, source, extras, mapped_from, is_csv)


def _plan_key(plan: _FilePlan) -> str:
    """A short digest of how a file is read: a changed mapping or cast reloads an unchanged file."""
    import hashlib

    text = repr([(c.name, c.sql, c.raw_sql, c.type_name) for c in plan.columns])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        scalar(
            con,
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        )
    )


def _change_order(name: str) -> tuple[str, str]:
    return (change_label(Path(name)) or "", name)


def load_landing_object(
    con: duckdb.DuckDBPyConnection,
    obj: CrmObject | str,
    landing_dir: Path | str,
    *,
    raw_schema: str = "raw",
    loaded_at: dt.datetime | None = None,
    mapping: ObjectMapping | None = None,
    full_refresh: bool = False,
    max_gone_share: float = MAX_GONE_SHARE,
) -> LoadResult | None:
    """Load the landing files of `obj` into `<raw_schema>.<object>` in one transaction: its
    full file, then its change files (`<object>.changes.<label>.<ext>`, by label).

    Only what changed is read: a file whose content hash is the one `_load_log_files`
    recorded is skipped; a changed full file is merged by id and modification time
    (`revops.landing.merge`, rows gone kept as soft deletes); a new change file is merged
    into the table. Anything else (the first load, `full_refresh`, a changed full file
    beside change files, a change file edited or removed after it was applied, a full file
    with duplicate ids or other columns, a full file missing more than `max_gone_share` of the
    table's live rows, an object without `id` or `is_deleted`) reloads the
    table from all its files, which gives the same rows as loading them into an empty warehouse.

    Raises LandingFileError (the previous table untouched) when a file is missing,
    unreadable, lacks a required column or has a value that does not fit its declared type.
    `loaded_at` (default now) is stored in UTC; a naive value is taken as UTC. `mapping`
    renames the file's columns to the contract's and names the file (default: the
    contract's names). An optional object without a file (and a mapping `from: null`)
    returns None and leaves the table to the caller."""
    started = time.monotonic()
    crm = crm_object(obj)
    if mapping is not None and mapping.source_name is None:
        return None
    files = _object_files(landing_dir, crm, mapping)
    if files is None:
        return None
    path, changes = files
    load = _Load(con, crm, raw_schema, utc_naive(loaded_at), path, changes, mapping, full_refresh)
    previous_tz = _session_time_zone(con)
    # No offset in a timestamp means UTC: parse with the session in UTC, then restore it.
    con.execute("set TimeZone = 'UTC'")
    try:
        con.execute("begin transaction")
        try:
            row_count, source_rows = load.run(max_gone_share, started)
            con.execute("commit")
        except BaseException as exc:
            con.execute("rollback")
            if isinstance(exc, duckdb.Error):
                raise load.error(exc) from None
            raise
    finally:
        if previous_tz:
            con.execute(f"set TimeZone = {quote_literal(previous_tz)}")

    return LoadResult(
        object_name=crm.name,
        table=f"{raw_schema}.{crm.name}",
        source_file=path,
        row_count=row_count,
        source_rows=source_rows,
        extra_columns=load.extras,
        seconds=round(time.monotonic() - started, 3),
        mapped_from=load.plans[path.name].mapped_from,
        load_mode=load.mode,
        counts=load.counts.as_dict() if load.known else None,
        applied_files=load.applied,
        skipped_files=load.skipped,
    )


def _object_files(
    landing_dir: Path | str, crm: CrmObject, mapping: ObjectMapping | None
) -> tuple[Path, list[Path]] | None:
    """The object's full file and its change files; None for an optional object without files."""
    stem = mapping.source_name if mapping else None
    path = find_landing_file(landing_dir, crm, stem=stem, required=bool(required_columns(crm)))
    changes = find_change_files(landing_dir, crm, stem=stem)
    if path is None and changes:
        raise LandingFileError(
            f"Cannot load {crm.name}: {Path(landing_dir)} has change files "
            f"({', '.join(p.name for p in changes)}) but no full file for them to apply to: "
            f"expected {crm.name}.csv, {crm.name}.csv.gz or {crm.name}.parquet beside them.",
            file=Path(landing_dir),
            object_name=crm.name,
        )
    if path is None:
        return None
    if changes and "id" not in crm.columns:
        raise LandingFileError(
            f"Cannot load {changes[0]} into {crm.name}: {crm.name} has no id column to merge changed "
            f"rows by; deliver it as a full file ({path.name}) only.",
            file=changes[0],
            object_name=crm.name,
        )
    return path, changes


class _Load:
    """One object's load inside the caller's transaction: which mode, what it applied and skipped.

    Modes: `incremental` (the full file unchanged: only new change files applied), `merged`
    (a changed full file merged by id; falls back to a reload when its shape, its ids or the
    share of rows gone say a merge would be wrong) and `reloaded` (the table rebuilt from all
    its files, the counts taken against the previous table)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        crm: CrmObject,
        raw_schema: str,
        loaded_at: dt.datetime,
        path: Path,
        changes: list[Path],
        mapping: ObjectMapping | None,
        full_refresh: bool,
    ) -> None:
        self.con, self.crm, self.path, self.changes, self.loaded_at = con, crm, path, changes, loaded_at
        self.schema = quote_identifier(raw_schema)
        self.table = f"{self.schema}.{quote_identifier(crm.name)}"
        self.aside_name = quote_identifier(f"_revops_previous_{crm.name}")
        self.aside = f"{self.schema}.{self.aside_name}"
        # what decides a skip: the file's bytes and how they are read (the mapping, the casts)
        self.plans = {p.name: _plan_file(con, crm, p, mapping) for p in [path, *changes]}
        self.hashes = {p.name: f"{content_hash(p)}:{_plan_key(self.plans[p.name])}" for p in [path, *changes]}
        self.exists = _table_exists(con, raw_schema, crm.name)
        previous = applied_files(con, self.schema, crm.name) if self.exists and not full_refresh else {}
        self.prior = sorted((n for n in previous if change_label(Path(n)) is not None), key=_change_order)
        self.mode = self._mode(previous)
        self.plan: _FilePlan | None = None  # the file being read: the one an error names
        self.applied: list[str] = []
        self.skipped: list[str] = []
        self.counts = MergeCounts()
        self.known = True
        self.extras: list[str] = self.plans[path.name].extras

    def _mode(self, previous: Mapping[str, str]) -> str:
        names = [p.name for p in self.changes]
        base_same = previous.get(self.path.name) == self.hashes[self.path.name]
        prefix_same = names[: len(self.prior)] == self.prior and all(
            previous[n] == self.hashes[n] for n in self.prior
        )
        mergeable = "id" in self.crm.columns and "is_deleted" in self.crm.columns
        if (
            not previous
            or not prefix_same
            or (not base_same and self.changes)
            or (not base_same and not mergeable)
        ):
            return "reloaded"
        return "merged" if not base_same else "incremental"

    def run(self, max_gone_share: float, started: float) -> tuple[int, int]:
        """Apply the files; the table's rows and the rows that came from a file line."""
        con = self.con
        con.execute(f"create schema if not exists {self.schema}")
        ensure_load_log(con, self.schema)
        pending = self.changes
        if self.mode == "merged" and not self._merge_full_file(max_gone_share):
            self.mode = "reloaded"
        if self.mode == "reloaded":
            self._reload_full_file()
        elif self.mode == "incremental":
            self.skipped = [self.path.name, *self.prior]
            pending = self.changes[len(self.prior) :]
        for change in pending:
            self._apply_change_file(change)
        if self.mode == "reloaded":
            self._count_reload()
        row_count, source_rows = one_row(con, f"select count(*), count(_source_row) from {self.table}")
        if self.mode != "reloaded":  # the rows of the table this load did not touch
            self.counts.unchanged_rows = int(row_count) - self.counts.new_rows - self.counts.changed_rows
        self.extras = [
            n
            for n, _ in table_columns(con, self.table)
            if n not in self.crm.columns and n not in METADATA_COLUMNS
        ]
        upsert_load_log(
            con,
            self.schema,
            self.crm,
            self.path,
            row_count,
            self.extras,
            self.loaded_at,
            time.monotonic() - started,
        )
        record_load_counts(
            con,
            self.schema,
            self.crm.name,
            self.mode,
            self.counts.as_dict() if self.known else {},
            self.applied,
            self.skipped,
        )
        return int(row_count), int(source_rows)

    def _stage(self, plan: _FilePlan, path: Path) -> None:
        self.plan = plan
        self.con.execute(
            "create or replace temp table _revops_incoming as\n"
            + _select_sql(plan.columns, plan.source, path.name, self.loaded_at)
        )

    def _merge_full_file(self, max_gone_share: float) -> bool:
        """Merge the changed full file by id; False (nothing written) when it must be reloaded."""
        con = self.con
        self._stage(self.plans[self.path.name], self.path)
        mergeable = (
            table_columns(con, "_revops_incoming") == table_columns(con, self.table)
            and not duplicate_ids(con, "_revops_incoming")
            and gone_share(con, self.table, "_revops_incoming") <= max_gone_share
        )
        if mergeable:
            self.counts.add(merge_full_file(con, self.table, "_revops_incoming"))
            self._record(self.path, "full", self.counts.as_dict())
        con.execute("drop table _revops_incoming")
        return mergeable

    def _reload_full_file(self) -> None:
        """The table rebuilt from the full file; the previous one kept aside to count the changes."""
        con = self.con
        self.plan = plan = self.plans[self.path.name]
        if self.exists:
            con.execute(f"drop table if exists {self.aside}")
            con.execute(f"alter table {self.table} rename to {self.aside_name}")
        con.execute(
            f"create table {self.table} as\n{_select_sql(plan.columns, plan.source, self.path.name, self.loaded_at)}"
        )
        rows = int(scalar(con, f"select count(*) from {self.table}"))
        self._record(self.path, "full", {"new_rows": rows}, staged=self.table, reset=True)

    def _apply_change_file(self, change: Path) -> None:
        self._stage(self.plans[change.name], change)
        file_counts = upsert_changes(self.con, self.table, "_revops_incoming")
        self.counts.add(file_counts)
        self._record(change, "changes", file_counts.as_dict())
        self.con.execute("drop table _revops_incoming")

    def _record(
        self,
        path: Path,
        kind: str,
        counts: Mapping[str, int | None],
        *,
        staged: str = "_revops_incoming",
        reset: bool = False,
    ) -> None:
        """Record an applied file in the load log (its rows: those staged in `staged`)."""
        rows = int(scalar(self.con, f"select count(*) from {staged}"))
        record_applied_file(
            self.con,
            self.schema,
            self.crm.name,
            path,
            kind,
            self.hashes[path.name],
            rows,
            counts,
            self.loaded_at,
            reset=reset,
        )
        self.applied.append(path.name)

    def _count_reload(self) -> None:
        """A reload's counts: new, changed and gone rows against the table it replaced."""
        con = self.con
        if self.exists:
            reloaded = reload_counts(con, self.aside, self.table)
            con.execute(f"drop table {self.aside}")
            self.known = reloaded is not None
            self.counts = reloaded or MergeCounts()
        else:
            self.counts = MergeCounts(new_rows=int(scalar(con, f"select count(*) from {self.table}")))

    def error(self, exc: duckdb.Error) -> LandingFileError:
        """The file, column and values a DuckDB error during the load comes from."""
        failed = self.plan.path if self.plan is not None else self.path
        if _BAD_VALUE_MARKER in str(exc) and self.plan is not None:
            try:
                problems, bad_rows = _diagnose(self.con, self.plan.columns, self.plan.source)
            except duckdb.Error as diagnose_exc:
                return read_error(failed, self.crm, diagnose_exc)
            return _bad_values_error(failed, self.crm, problems, bad_rows, self.plan.is_csv)
        return read_error(failed, self.crm, exc)


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
    full_refresh: bool = False,
) -> list[LoadResult]:
    """Load every object of the contract (or `objects`), one transaction each; stops at
    the first LandingFileError. All loads share one `_loaded_at`. Optional objects without
    a file are left out (`revops.sources` writes their empty tables and coverage)."""
    loaded_at = utc_naive(loaded_at)
    results = [
        load_landing_object(
            con, obj, landing_dir, raw_schema=raw_schema, loaded_at=loaded_at, full_refresh=full_refresh
        )
        for obj in (objects if objects is not None else CRM_OBJECTS.values())
    ]
    return [r for r in results if r is not None]
