"""What a publish knows of each mart's content: its rows, an order-independent fingerprint, an
exact hash, its columns and, for the marts published by partition, the same per month.

A daily publish compares the working warehouse's marts with what the current publish holds (the
`_content.json` of its Parquet version folder) and copies only what changed: an unchanged mart
keeps its table in the served file and its Parquet file, a partitioned mart (`PARTITIONED_MARTS`,
the largest, which grows by one day of snapshots a day) rewrites only the months whose rows
changed. The hashes are sums of row hashes, so a mart's is the sum of its partitions'.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from revops.sql import quote_identifier, quote_literal

# the marts published by partition: mart -> the date column whose calendar month is a partition
# (in the served file one table still; in Parquet a folder `<mart>/` of one `<YYYY-MM>.parquet`
# per month)
PARTITIONED_MARTS: Mapping[str, str] = {"fct_deal_snapshots": "snapshot_date"}


NULL_PARTITION = "none"  # the rows whose partition date is null


EMPTY_PARTITION_FILE = "empty.parquet"  # a partitioned mart without rows: its columns, no rows


CONTENT_FILE = "_content.json"  # beside each Parquet version: what it holds (`MartContent`)


FINGERPRINT_DECIMALS = 6


FINGERPRINT_SIGNIFICANT = 12  # the first rounding of a double (see `_rounded`)


@dataclass(frozen=True)
class MartContent:
    """One mart's content. `fingerprint`: the sum of its row hashes with doubles rounded to
    `FINGERPRINT_DECIMALS` (`_rounded`; a parallel sum in DuckDB can differ in its last bits from one run to
    the next, which is not a change of content: the publish log's fingerprint); `exact`: the
    same with doubles as they are (a file may be reused only when this is equal); `partitions`:
    label (`YYYY-MM`, or `NULL_PARTITION`) -> (rows, exact), empty for a mart not partitioned."""

    rows: int
    fingerprint: str
    exact: str
    columns: tuple[tuple[str, str], ...] = ()
    partitions: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "exact": self.exact,
            "columns": [list(c) for c in self.columns],
            "partitions": {label: list(value) for label, value in self.partitions.items()},
        }

    @classmethod
    def from_json(cls, value: Any) -> MartContent | None:
        """None for what an earlier publish wrote in another form (then nothing is reused)."""
        if not isinstance(value, dict) or "exact" not in value or "columns" not in value:
            return None
        return cls(
            rows=int(value.get("rows", -1)),
            fingerprint="",
            exact=str(value["exact"]),
            columns=tuple((str(n), str(t)) for n, t in value["columns"]),
            partitions={str(k): (int(v[0]), str(v[1])) for k, v in (value.get("partitions") or {}).items()},
        )

    def changed_partitions(self, before: MartContent) -> list[str]:
        """The partitions whose rows differ from `before`'s: new, changed or gone."""
        labels = set(self.partitions) | set(before.partitions)
        return sorted(label for label in labels if self.partitions.get(label) != before.partitions.get(label))


def mart_content(con: duckdb.DuckDBPyConnection, table: str, partition_by: str | None = None) -> MartContent:
    """The content of `table` (a relation name as SQL: `build.marts."deal_risk"`), in one scan;
    per month of `partition_by` when given."""
    columns = tuple(
        (str(name), str(type_)) for name, type_, *_ in con.execute(f"describe {table}").fetchall()
    )
    names = [quote_identifier(name) for name, _ in columns]
    rounded = ", ".join(
        _rounded(name) if type_.upper() in ("DOUBLE", "FLOAT", "REAL") else name
        for name, (_, type_) in zip(names, columns, strict=True)
    )
    month = f"date_trunc('month', {quote_identifier(partition_by)})" if partition_by else "null"
    groups = con.execute(
        f"select {month}, count(*), coalesce(sum(hash({rounded})::hugeint), 0), "
        f"coalesce(sum(hash({', '.join(names)})::hugeint), 0) from {table} group by 1"
    ).fetchall()
    rows = sum(int(n) for _, n, _, _ in groups)
    digest = sum(int(d) for _, _, d, _ in groups)
    exact = sum(int(e) for _, _, _, e in groups)
    partitions = {_label(g): (int(n), f"{int(e):x}") for g, n, _, e in groups} if partition_by else {}
    return MartContent(rows, f"{digest:x}", f"{exact:x}", columns, partitions)


def _rounded(name: str) -> str:
    """A double as the fingerprint hashes it: to `FINGERPRINT_SIGNIFICANT` significant digits,
    then to `FINGERPRINT_DECIMALS` decimals. One rounding to 6 decimals is not enough: a mean
    like 3 x 0.0000125 sits on a rounding boundary, and the last-bit noise of a parallel sum
    puts it on either side from one build to the next (0.0000375 +- 1e-19 -> 0.000038 or
    0.000037); the first rounding takes the noise away, so the second gets the same value."""
    magnitude = f"cast(floor(log10(abs({name}))) as integer)"
    return (
        f"case when {name} = 0 or not isfinite({name}) then {name} "
        f"else round(round({name}, {FINGERPRINT_SIGNIFICANT - 1} - {magnitude}), {FINGERPRINT_DECIMALS}) end"
    )


def _label(month: dt.date | dt.datetime | None) -> str:
    """A partition's label: the `YYYY-MM` of its month, `NULL_PARTITION` for rows without a date."""
    return NULL_PARTITION if month is None else f"{month:%Y-%m}"


def partition_filter_sql(column: str, labels: Iterable[str]) -> str:
    """A predicate that holds for the rows of the `labels` partitions: month ranges on `column`,
    which DuckDB answers from its min/max statistics without reading every row."""
    terms = []
    for label in sorted(set(labels)):
        if label == NULL_PARTITION:
            terms.append(f"{quote_identifier(column)} is null")
            continue
        start = dt.date.fromisoformat(f"{label}-01")
        end = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
        terms.append(
            f"({quote_identifier(column)} >= date {quote_literal(start.isoformat())} "
            f"and {quote_identifier(column)} < date {quote_literal(end.isoformat())})"
        )
    return " or ".join(terms) if terms else "false"


def read_content(version: Path | None) -> dict[str, MartContent]:
    """What the Parquet version folder `version` says it holds (nothing when it says nothing
    this module can read)."""
    if version is None or not (version / CONTENT_FILE).is_file():
        return {}
    with contextlib.suppress(ValueError, OSError):
        known = json.loads((version / CONTENT_FILE).read_text(encoding="utf-8"))
        marts = known.get("marts") if isinstance(known, dict) else None
        if isinstance(marts, dict):
            parsed = {name: MartContent.from_json(value) for name, value in marts.items()}
            return {name: content for name, content in parsed.items() if content is not None}
    return {}


def write_content(version: Path, contents: Mapping[str, MartContent]) -> None:
    document = {"format": 2, "marts": {name: contents[name].as_json() for name in sorted(contents)}}
    (version / CONTENT_FILE).write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
