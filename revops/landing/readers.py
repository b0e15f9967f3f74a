"""The DuckDB readers of a landing file (CSV read as text, Parquet), and read errors said for people."""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from pathlib import Path

import duckdb

from revops.crm_contract import CrmObject
from revops.landing.errors import LandingFileError
from revops.sql import quote_identifier, quote_literal


def csv_source(path: Path, names: Sequence[str]) -> str:
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


def parquet_source(path: Path) -> str:
    return (
        f"(select *, file_row_number + 1 as _line from read_parquet({quote_literal(str(path))}, "
        f"file_row_number = true))"
    )


def parquet_schema(con: duckdb.DuckDBPyConnection, path: Path, crm: CrmObject) -> tuple[list[str], list[str]]:
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
        raise read_error(path, crm, exc) from None
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


def read_error(path: Path, crm: CrmObject, exc: Exception) -> LandingFileError:
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
