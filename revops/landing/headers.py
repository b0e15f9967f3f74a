"""A file's header: read (CSV) and matched to the contract's columns, through the mapping file."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

from revops.crm_contract import CrmObject
from revops.landing.errors import LandingFileError
from revops.landing.files import normalize_column_name
from revops.sources.coverage import present_object_columns
from revops.sources.mapping import MappingError, ObjectMapping


def normalize_headers(
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


def read_csv_header(path: Path, crm: CrmObject) -> list[str]:
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
