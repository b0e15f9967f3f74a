"""Load the landing folder's CRM files into the warehouse's raw schema.

One file per object of `revops.crm_contract` (`opportunity.csv`, `Opportunity.csv.gz`,
`opportunity_history.parquet`, ...) becomes the table `<raw_schema>.<object>`:

- the contract's columns first, in contract order, typed as declared;
- then any extra columns of the file, kept as VARCHAR under normalized names;
- then `_source_file` (file name), `_source_row` (line in the file; row number for
  Parquet) and `_loaded_at` (when the load ran, UTC).

Everything is read as text first and cast by DuckDB in one set-based pass, so a bad
value is reported (file, column, line, value) instead of silently becoming NULL, and
a malformed CSV row stops the load instead of being skipped. The table is replaced in
one transaction: a failed load leaves the previous table as it was, and loading the
same file twice gives the same rows. Each load also upserts a row of
`<raw_schema>._load_log` (file size, modification time, fingerprint, row count), which
the row-count and freshness checks and the file sensor read.

Pure Python and DuckDB: no Dagster here (see `orchestration.ingestion`).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from revops.crm_contract import BOOLEAN, CRM_OBJECTS, DATE, DOUBLE, INTEGER, TIMESTAMP, VARCHAR, CrmObject
from revops.crm_ids import is_id_column, normalized_id_sql
from revops.paths import LANDING_SUFFIXES
from revops.sources.coverage import present_object_columns, required_columns
from revops.sources.mapping import MappingError, ObjectMapping
from revops.sql import quote_identifier, quote_literal

LOAD_LOG_TABLE = "_load_log"
METADATA_COLUMNS = ("_source_file", "_source_row", "_loaded_at")
MAX_EXAMPLES = 5

# What a value of each declared type must look like, in the words of an error message.
EXPECTED_FORMAT = {
    VARCHAR: "text",
    BOOLEAN: "true or false (1 or 0 also accepted)",
    INTEGER: "a whole number",
    DOUBLE: "a number like 1250.5 (no thousands separators or currency symbols)",
    DATE: "a date written YYYY-MM-DD (ISO 8601; a full ISO timestamp is taken as its UTC date)",
    TIMESTAMP: (
        "an ISO 8601 timestamp like 2024-05-31T14:05:00Z "
        "(an offset such as +02:00 is converted to UTC; none means UTC)"
    ),
}

# The error() message that aborts the single-pass load when a value does not cast;
# the loader then runs the diagnostic query to say which values, where.
_BAD_VALUE_MARKER = "revops-landing: a value does not fit its declared type"


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class BadValue:
    """One value that did not cast: its line in the file (row number for Parquet)."""

    line: int
    value: str


@dataclass(frozen=True)
class ColumnProblem:
    """A declared column whose values do not all cast to its type."""

    column: str
    expected: str
    bad_row_count: int
    examples: tuple[BadValue, ...]


class LandingFileError(Exception):
    """A landing file that cannot be loaded, explained in one readable paragraph.

    `str(error)` is the message for people; the fields are for alerts and metadata:
    `file`, `object_name`, `columns` (the columns at fault, when any), `row_count`
    (rows with a bad value), `line` (where reading stopped), `examples` (up to five
    bad values per column, with their line) and `problems` (one per failing column).
    """

    def __init__(
        self,
        message: str,
        *,
        file: Path | None = None,
        object_name: str | None = None,
        columns: Sequence[str] = (),
        row_count: int | None = None,
        line: int | None = None,
        problems: Sequence[ColumnProblem] = (),
    ):
        super().__init__(message)
        self.message = message
        self.file = file
        self.object_name = object_name
        self.columns = list(columns)
        self.row_count = row_count
        self.line = line
        self.problems = list(problems)

    @property
    def column(self) -> str | None:
        """The (first) column at fault, when the error is about columns."""
        return self.columns[0] if self.columns else None

    @property
    def examples(self) -> list[dict]:
        return [
            {"column": p.column, "line": e.line, "value": e.value} for p in self.problems for e in p.examples
        ]

    def metadata(self) -> dict:
        """Plain values (str, int, list, dict) describing the failure, for alerts and UIs."""
        data: dict = {"file": str(self.file) if self.file else None, "object": self.object_name}
        if self.columns:
            data["columns"] = self.columns
        if self.row_count is not None:
            data["bad_row_count"] = self.row_count
        if self.line is not None:
            data["line"] = self.line
        if self.problems:
            data["examples"] = self.examples
        return {k: v for k, v in data.items() if v is not None}

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------- results


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


# --------------------------------------------------------------------------- names


def normalize_column_name(header: str) -> str:
    """snake_case of a header: `StageName` -> `stage_name`, `Next_Step_Date__c` ->
    `next_step_date_c`, `Id` -> `id`, ` stage_name ` -> `stage_name`."""
    name = header.replace("\ufeff", "").strip()
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # stageName -> stage_Name
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)  # SLAExpiry -> SLA_Expiry
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def _crm_object(obj: CrmObject | str) -> CrmObject:
    if isinstance(obj, CrmObject):
        return obj
    try:
        return CRM_OBJECTS[obj]
    except KeyError:
        raise ValueError(
            f"{obj!r} is not a CRM object of the contract; known: {', '.join(CRM_OBJECTS)}"
        ) from None


def _landing_stem(path: Path) -> str | None:
    """The object a file name stands for, squashed (`OpportunityHistory.csv.gz` ->
    `opportunityhistory`), or None when the suffix is not a landing format."""
    lower = path.name.lower()
    for suffix in sorted(LANDING_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return re.sub(r"[^a-z0-9]", "", lower[: -len(suffix)])
    return None


def _expected_names(name: str) -> str:
    return f"{name}.csv, {name}.csv.gz or {name}.parquet"


def find_landing_file(
    landing_dir: Path | str, obj: CrmObject | str, *, stem: str | None = None, required: bool = True
) -> Path | None:
    """The one landing file of `obj`: `<object>.csv`, `.csv.gz` or `.parquet`, with a
    snake_case or CamelCase stem, any letter case (`ForecastingQuota.CSV`). `stem` names
    the file when the mapping gives it another name; `required=False` returns None when
    there is no such file (an optional object the CRM export does not have)."""
    crm = _crm_object(obj)
    folder = Path(landing_dir)
    if not folder.is_dir():
        raise LandingFileError(
            f"The landing folder {folder} does not exist (or is not a folder), so there is no "
            f"file to load for {crm.name}: expected {_expected_names(crm.name)} in it.",
            file=folder,
            object_name=crm.name,
        )
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    files = [p for p in entries if p.is_file()]
    wanted = re.sub(r"[^a-z0-9]", "", (stem or crm.name).lower())
    candidates = [p for p in entries if _landing_stem(p) == wanted]
    if not candidates and not required:
        return None
    if not candidates:
        present = ", ".join(p.name for p in files[:20]) or "no files at all"
        if len(files) > 20:
            present += f" and {len(files) - 20} more"
        raise LandingFileError(
            f"No landing file for {crm.name} in {folder}: expected {_expected_names(crm.name)} "
            f"(CamelCase names such as {_camel(crm.name)}.csv are accepted too). "
            f"The folder has {present}.",
            file=folder,
            object_name=crm.name,
        )
    if len(candidates) > 1:
        raise LandingFileError(
            f"More than one landing file for {crm.name} in {folder}: "
            f"{', '.join(p.name for p in candidates)}. Keep exactly one so the load is unambiguous.",
            file=folder,
            object_name=crm.name,
        )
    return _safe_landing_file(folder, candidates[0], crm)


def _safe_landing_file(folder: Path, path: Path, crm: CrmObject) -> Path:
    """`path` when it is a regular file inside `folder`: a symlink may point to another
    file of the folder, never out of it (`user.csv -> /etc/passwd` would be loaded and
    its first line quoted in an alert), and a device, FIFO or folder is refused."""
    import stat as stat_module

    try:
        inside = path.resolve(strict=True).is_relative_to(folder.resolve(strict=True))
        mode = path.stat().st_mode  # follows the link, if any
    except (OSError, RuntimeError) as exc:  # a dangling or looping link, no permission
        raise LandingFileError(
            f"Cannot load {folder / path.name} into {crm.name}: it cannot be opened "
            f"({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}). Landing files must be readable "
            f"regular files in {folder}.",
            file=folder / path.name,
            object_name=crm.name,
        ) from None
    if not inside:
        raise LandingFileError(
            f"Cannot load {folder / path.name} into {crm.name}: it is a symbolic link to a file "
            f"outside the landing folder {folder}, which the loader refuses (it would read any "
            f"file the link names). Copy the export into the folder instead.",
            file=folder / path.name,
            object_name=crm.name,
        )
    if not stat_module.S_ISREG(mode):
        kind = "a folder" if stat_module.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
        raise LandingFileError(
            f"Cannot load {folder / path.name} into {crm.name}: it is {kind}. Landing files must "
            f"be regular files in {folder}.",
            file=folder / path.name,
            object_name=crm.name,
        )
    return path


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


# --------------------------------------------------------------------------- headers


def _normalize_headers(
    path: Path, headers: Sequence[str], crm: CrmObject, mapping: ObjectMapping | None = None
) -> tuple[list[str], dict[str, str | None]]:
    """Normalized names of the file's columns, with the mapping's source columns renamed
    to the contract columns they feed; and, per contract column, the header that fed it
    (None: not tracked). Duplicate names and a missing minimum column are errors."""
    names = []
    for position, header in enumerate(headers, start=1):
        names.append(normalize_column_name(header) or f"unnamed_{position}")
    # The header row is text from the file: messages (which become alerts) name only
    # contract columns, and other headers by their position, never as written.
    seen: dict[str, int] = {}
    clashes, clashing = [], []
    for position, name in enumerate(names, start=1):
        if name not in seen:
            seen[name] = position
            continue
        field = name if name in crm.columns else "the same (non-contract) name"
        clashes.append(f"columns {seen[name]} and {position} of the header both mean {field}")
        clashing.append(name if name in crm.columns else f"column {position}")
    if clashes:
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: two header columns name the same field "
            f"({'; '.join(clashes)}). Remove one of them.",
            file=path,
            object_name=crm.name,
            columns=clashing,
        )
    mapping = ObjectMapping(  # the mapping names file columns as written or in snake_case
        crm.name,
        mapping.source_name if mapping else crm.name,
        {c: normalize_column_name(v) if v else None for c, v in (mapping.columns if mapping else {}).items()},
    )
    available = set(names)
    renames: dict[str, str] = {}  # file column -> contract column
    mapped_from: dict[str, str | None] = {}
    for column in crm.columns:
        try:
            source_column = mapping.source_column(normalize_column_name(column), available)
        except MappingError as exc:
            raise LandingFileError(
                f"Cannot load {path} into {crm.name}: {exc}.", file=path, object_name=crm.name
            ) from None
        if source_column is not None:
            mapped_from[column] = f"{path.name}: {source_column}"
            if source_column != column:
                renames[source_column] = column
        else:
            mapped_from[column] = None
    # a file column that is not the mapped source of its own name cannot keep a contract
    # name it does not feed (e.g. a stale next_step_date_c beside the mapped Next_Meeting__c)
    taken = set(renames.values())
    names = [
        renames.get(
            name,
            f"{name}_unmapped"
            if name in taken or (name in crm.columns and mapped_from.get(name) is None)
            else name,
        )
        for name in names
    ]
    missing = [c for c in present_object_columns(crm) if mapped_from.get(c) is None]
    if missing:
        found = [n for n in names if n in crm.columns]
        others = len(names) - len(found)
        found_text = ", ".join(found) if found else "none of the contract's columns"
        if others:
            found_text += f" and {others} other column{'s' if others != 1 else ''} (not shown)"
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: it is missing the required "
            f"column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (the minimum "
            f"{crm.name} needs; every other column is optional). "
            f"Columns found: {found_text}. Headers may be "
            f"snake_case (stage_name) or Salesforce API names (StageName); a column of another name "
            f"is mapped in the source mapping file.",
            file=path,
            object_name=crm.name,
            columns=missing,
        )
    return names, mapped_from


def _read_csv_header(path: Path, crm: CrmObject) -> list[str]:
    """The header row, read here rather than by DuckDB so that names DuckDB would
    deduplicate or rename are seen as written, and an empty file is named as such."""
    import csv

    expected = ", ".join(crm.required_columns)
    if path.stat().st_size == 0:
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: the file is empty (0 bytes): expected a header "
            f"row with columns {expected}, then one row per record.",
            file=path,
            object_name=crm.name,
        )
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as f:
            first = f.readline(1 << 20)
    except (OSError, EOFError) as exc:
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: the file cannot be read as "
            f"{'gzip-compressed ' if path.name.lower().endswith('.gz') else ''}CSV ({exc}).",
            file=path,
            object_name=crm.name,
        ) from None
    if not first:
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: the file is empty: expected a header row "
            f"with columns {expected}, then one row per record.",
            file=path,
            object_name=crm.name,
        )
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: the file is not UTF-8 text (line 1, the "
            f"header, has bytes that are not valid UTF-8). Export it again as UTF-8 CSV.",
            file=path,
            object_name=crm.name,
            line=1,
        ) from None
    if not text.strip():
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: line 1 is blank: expected a header row with "
            f"columns {expected}.",
            file=path,
            object_name=crm.name,
            line=1,
        )
    header = text[:-1] if text.endswith("\n") else text
    header = header[:-1] if header.endswith("\r") else header
    if "\r" in header:
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: its lines end with a carriage return alone "
            f"(CR, the old Mac OS line end), which the loader does not read. Export it again "
            f"with LF or CRLF line ends (any current spreadsheet or CRM export does).",
            file=path,
            object_name=crm.name,
            line=1,
        )
    try:
        return next(csv.reader([header], strict=True))
    except csv.Error as exc:
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: line 1, the header, is not a CSV row ({exc}): "
            f"expected the column names {expected}, separated by commas.",
            file=path,
            object_name=crm.name,
            line=1,
        ) from None


# --------------------------------------------------------------------------- casting


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
class _Column:
    """One output column: its SQL from the source, and how to check it."""

    name: str
    sql: str
    raw_sql: str | None = None  # the value as text, when the cast can fail
    type_name: str = VARCHAR


def _plan_columns(
    names: Sequence[str], source_types: Sequence[str] | None, crm: CrmObject
) -> tuple[list[_Column], list[str]]:
    """Declared columns (typed) then extras (VARCHAR), from the file's normalized names.
    `source_types` is None for CSV (everything is text)."""
    position = {name: i for i, name in enumerate(names)}
    columns = []
    for name, type_name in crm.columns.items():
        if name not in position:  # not tracked by this file: typed NULL, same shape as ever
            columns.append(_Column(name, f"cast(null as {type_name})", None, type_name))
            continue
        src = f"src.{quote_identifier(name)}"
        source_type = "VARCHAR" if source_types is None else source_types[position[name]]
        native = None if source_type == "VARCHAR" else _native_cast(src, source_type, type_name)
        if native is not None:
            sql, can_fail = native
            if type_name == VARCHAR and is_id_column(name):
                sql = normalized_id_sql(src)
            raw = f"cast({src} as varchar)" if can_fail else None
            columns.append(_Column(name, sql, raw, type_name))
            continue
        text = src if source_type == "VARCHAR" else f"cast({src} as varchar)"
        if type_name == VARCHAR and is_id_column(name):
            # trimmed, 15-character Salesforce ids in their 18-character form (revops.crm_ids)
            columns.append(_Column(name, normalized_id_sql(text), None, type_name))
        elif type_name == VARCHAR:
            columns.append(_Column(name, f"nullif({text}, '')", None, type_name))
        else:
            raw = f"nullif(trim({text}), '')"
            columns.append(_Column(name, _text_cast(raw, type_name), raw, type_name))
    extras = [n for n in names if n not in crm.columns]
    for name in extras:
        src = f"src.{quote_identifier(name)}"
        is_text = source_types is None or source_types[position[name]] == "VARCHAR"
        sql = src if is_text else f"cast({src} as varchar)"
        columns.append(_Column(name, sql, None, VARCHAR))
    return columns, extras


# --------------------------------------------------------------------------- readers


def _csv_source(path: Path, names: Sequence[str]) -> str:
    """read_csv with every setting explicit: no sniffing, nothing skipped or padded, so a
    ragged row, an unterminated quote or invalid UTF-8 is an error, never a lost row.
    Rows keep file order. `_line` is the physical line a record starts on (the header
    is line 1): the record number plus the line breaks inside quoted values before it."""
    columns = "{" + ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n in names) + "}"
    compression = "gzip" if path.name.lower().endswith(".gz") else "none"
    breaks = (
        " + ".join(
            f"coalesce(length({quote_identifier(n)}) - length(replace({quote_identifier(n)}, chr(10), '')), 0)"
            for n in names
        )
        or "0"
    )
    read = (
        f"read_csv({quote_literal(str(path))}, "
        f"auto_detect = false, header = true, columns = {columns}, all_varchar = true, "
        f"delim = ',', quote = '\"', escape = '\"', comment = '', skip = 0, "
        f"strict_mode = true, ignore_errors = false, null_padding = false, "
        f"encoding = 'utf-8', compression = '{compression}')"
    )
    # both windows run over the file's order, like row_number() over () alone did
    return (
        f"(select * exclude (__revops_breaks), row_number() over () + 1 "
        f"+ sum(__revops_breaks) over (rows between unbounded preceding and current row) "
        f"- __revops_breaks as _line "
        f"from (select *, {breaks} as __revops_breaks from {read}))"
    )


def _parquet_source(path: Path) -> str:
    return (
        f"(select *, file_row_number + 1 as _line from read_parquet({quote_literal(str(path))}, "
        f"file_row_number = true))"
    )


def _parquet_schema(con, path: Path, crm: CrmObject) -> tuple[list[str], list[str]]:
    if path.stat().st_size == 0:
        raise LandingFileError(
            f"Cannot load {path} into {crm.name}: the file is empty (0 bytes): expected a Parquet "
            f"file with columns {', '.join(crm.required_columns)}.",
            file=path,
            object_name=crm.name,
        )
    try:
        rows = con.execute(f"describe select * from read_parquet({quote_literal(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise _read_error(path, crm, exc) from None
    return [r[0] for r in rows], [r[1] for r in rows]


def _physical_line(path: Path, record_line: int) -> int:
    """The physical line a CSV record starts on. DuckDB numbers the lines of its errors
    by record (the header is 1), so a quoted value holding a line break shifts every
    later number; Python's csv reader counts physical lines. On a file it cannot read
    up to there either, DuckDB's number stands."""
    import csv

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    start, number = 1, 0
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
            reader = csv.reader(handle)
            for _ in reader:
                number += 1
                if number == record_line:
                    return start
                start = reader.line_num + 1
    except (csv.Error, OSError, EOFError):
        pass
    return start if number == record_line - 1 else record_line


def _read_error(path: Path, crm: CrmObject, exc: Exception) -> LandingFileError:
    """A DuckDB reading error in plain words, with the line when DuckDB gives it."""
    text = str(exc)
    line_match = re.search(r"CSV Error on Line: (\d+)", text)
    line = int(line_match.group(1)) if line_match else None
    if line is not None and not path.name.lower().endswith(".parquet"):
        line = _physical_line(path, line)
    original = re.search(r"Original Line: ?(.*)", text)
    excerpt = original.group(1).strip() if original else ""
    if len(excerpt) > 120:
        excerpt = excerpt[:117] + "..."
    where = f"line {line}" if line else "a row"
    shown = f" ({excerpt!r})" if excerpt else ""
    columns_match = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if columns_match:
        expected, found = columns_match.groups()
        what = (
            f"{where}{shown} has {found} values where the header has {expected} columns: "
            f"the file may be truncated, or a value holds an unquoted comma or line break"
        )
    elif "unterminated quote" in text.lower():
        what = (
            f"{where}{shown} opens a quoted value that is never closed (unterminated quote): "
            f"the file may be truncated, or a value holds a stray double quote"
        )
    elif "invalid unicode" in text.lower() or ("utf-8" in text.lower() and "encod" in text.lower()):
        what = (
            f"the file is not UTF-8 text: {where} has bytes that are not valid UTF-8; "
            f"export it again as UTF-8"
        )
    elif "state machine reached an invalid state" in text.lower():
        what = (
            "its line ends are mixed (LF and CRLF, or a stray carriage return in an unquoted "
            "value); export it again in one piece"
        )
    elif "maximum line size" in text.lower():
        what = (
            f"{where} is longer than DuckDB's maximum line size: the file is probably not "
            f"a CSV export, or a quote is not closed"
        )
    elif path.suffix.lower() == ".parquet" and ("magic" in text.lower() or "parquet" in text.lower()):
        what = "it is not a readable Parquet file (it may be truncated or not Parquet at all)"
    elif "gzip" in text.lower() or "compress" in text.lower():
        what = "it cannot be decompressed as gzip (it may be truncated)"
    else:
        first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        what = f"DuckDB could not read it ({first_line})"
    return LandingFileError(
        f"Cannot load {path} into {crm.name}: {what}.",
        file=path,
        object_name=crm.name,
        line=line,
    )


# --------------------------------------------------------------------------- loading


def _select_sql(columns: Sequence[_Column], source: str, file_name: str, loaded_at: dt.datetime) -> str:
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


def _diagnose(con, columns: Sequence[_Column], source: str) -> tuple[list[ColumnProblem], int]:
    """Every column with values that do not cast: count and the first examples by line."""
    checked = [c for c in columns if c.raw_sql is not None]
    conditions = [f"({c.raw_sql} is not null and ({c.sql}) is null)" for c in checked]
    selects = []
    for c, cond in zip(checked, conditions):
        selects.append(f"count(*) filter (where {cond})")
        selects.append(
            f"min_by(struct_pack(line := src._line, value := {c.raw_sql}), src._line, {MAX_EXAMPLES}) "
            f"filter (where {cond})"
        )
    selects.append(f"count(*) filter (where {' or '.join(conditions)})")
    row = con.execute(f"select {', '.join(selects)} from {source} as src").fetchone()
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


def file_fingerprint(path: Path, sample_bytes: int = 1 << 20) -> str:
    """A cheap content fingerprint: sha256 of the size and the first and last MiB.
    Equal for a re-export with the same bytes at the ends; not a full-content hash."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        digest.update(f.read(sample_bytes))
        if size > sample_bytes:
            f.seek(max(sample_bytes, size - sample_bytes))
            digest.update(f.read(sample_bytes))
    return digest.hexdigest()


def _utc_naive(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _ensure_load_log(con, schema: str) -> None:
    con.execute(
        f"""
        create table if not exists {schema}.{quote_identifier(LOAD_LOG_TABLE)} (
            "object" varchar primary key,
            source_file varchar not null,
            source_path varchar not null,
            file_size_bytes bigint not null,
            file_modified_at timestamp not null,
            file_fingerprint varchar not null,
            row_count bigint not null,
            extra_columns varchar[],
            loaded_at timestamp not null,
            load_seconds double,
            previous_row_count bigint,
            previous_loaded_at timestamp
        )
        """
    )


def _upsert_load_log(
    con,
    schema: str,
    crm: CrmObject,
    path: Path,
    row_count: int,
    extras: list[str],
    loaded_at: dt.datetime,
    seconds: float,
) -> None:
    """One row per object, the latest load. `previous_*` describe the latest earlier
    load of a *different* file, so re-running the same file keeps the comparison the
    row-count-collapse check needs."""
    stat = path.stat()
    modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(tzinfo=None)
    con.execute(
        f"""
        insert into {schema}.{quote_identifier(LOAD_LOG_TABLE)} as log
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, null)
        on conflict ("object") do update set
            previous_row_count = case when log.file_fingerprint = excluded.file_fingerprint
                then log.previous_row_count else log.row_count end,
            previous_loaded_at = case when log.file_fingerprint = excluded.file_fingerprint
                then log.previous_loaded_at else log.loaded_at end,
            source_file = excluded.source_file,
            source_path = excluded.source_path,
            file_size_bytes = excluded.file_size_bytes,
            file_modified_at = excluded.file_modified_at,
            file_fingerprint = excluded.file_fingerprint,
            row_count = excluded.row_count,
            extra_columns = excluded.extra_columns,
            loaded_at = excluded.loaded_at,
            load_seconds = excluded.load_seconds
        """,
        [
            crm.name,
            path.name,
            str(path.resolve()),
            stat.st_size,
            modified,
            file_fingerprint(path),
            row_count,
            extras,
            loaded_at,
            seconds,
        ],
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
    crm = _crm_object(obj)
    if mapping is not None and mapping.source_name is None:
        return None
    path = find_landing_file(
        landing_dir, crm, stem=mapping.source_name if mapping else None, required=bool(required_columns(crm))
    )
    if path is None:
        return None
    loaded_at = _utc_naive(loaded_at)
    is_csv = not path.name.lower().endswith(".parquet")

    if is_csv:
        names, mapped_from = _normalize_headers(path, _read_csv_header(path, crm), crm, mapping)
        columns, extras = _plan_columns(names, None, crm)
        source = _csv_source(path, names)
    else:
        headers, types = _parquet_schema(con, path, crm)
        names, mapped_from = _normalize_headers(path, headers, crm, mapping)
        # read_parquet names columns as written; select them under their normalized names
        renamed = ", ".join(f"{quote_identifier(h)} as {quote_identifier(n)}" for h, n in zip(headers, names))
        columns, extras = _plan_columns(names, types, crm)
        source = f"(select {renamed}, _line from {_parquet_source(path)})"

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
            row_count = con.execute(f"select count(*) from {table}").fetchone()[0]
            _ensure_load_log(con, schema)
            seconds = time.monotonic() - started
            _upsert_load_log(con, schema, crm, path, row_count, extras, loaded_at, seconds)
            con.execute("commit")
        except BaseException as exc:
            con.execute("rollback")
            if isinstance(exc, duckdb.Error) and _BAD_VALUE_MARKER in str(exc):
                try:
                    problems, bad_rows = _diagnose(con, columns, source)
                except duckdb.Error as diagnose_exc:
                    raise _read_error(path, crm, diagnose_exc) from None
                raise _bad_values_error(path, crm, problems, bad_rows, is_csv) from None
            if isinstance(exc, duckdb.Error):
                raise _read_error(path, crm, exc) from None
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


def _session_time_zone(con) -> str | None:
    try:
        return con.execute("select current_setting('TimeZone')").fetchone()[0]
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
    loaded_at = _utc_naive(loaded_at)
    results = [
        load_landing_object(con, obj, landing_dir, raw_schema=raw_schema, loaded_at=loaded_at)
        for obj in (objects if objects is not None else CRM_OBJECTS.values())
    ]
    return [r for r in results if r is not None]
