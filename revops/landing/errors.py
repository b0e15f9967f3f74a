"""What a failed load says: the bad values of a column (file, column, line, value) and what
each declared type must look like, in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from revops.crm_contract import BOOLEAN, DATE, DOUBLE, INTEGER, TIMESTAMP, VARCHAR

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
