"""The read side of the serving folder: where BI reads (`served_path`), the served file opened
read-only, its publish log and alerts, the raw counts of the last good load, mart fingerprints.
The dashboard and the status command read through this module only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from revops import state
from revops.publish.content import mart_content
from revops.sql import quote_identifier, quote_literal, scalar

SERVED_FILE = "revops.duckdb"


PARQUET_DIR = "parquet"


CURRENT_LINK = "current"


MARTS_SCHEMA = "marts"


PUBLISH_LOG_COLUMNS = {
    "publish_id": "VARCHAR",
    "run_id": "VARCHAR",
    "as_of_date": "DATE",
    "published_at": "TIMESTAMP",  # UTC
    "mart_count": "INTEGER",
    "mart_row_counts": "VARCHAR",  # JSON {mart: rows}
    "mart_fingerprints": "VARCHAR",  # JSON {mart: order-independent hash of every row}
    "raw_row_counts": "VARCHAR",  # JSON {raw table: rows}: the last good load, for the gate
    "checks_passed": "INTEGER",
    "checks_warned": "INTEGER",
    "checks": "VARCHAR",  # JSON [{asset, check, passed, severity}]
    "parquet_version": "VARCHAR",
    "source_key": "VARCHAR",  # where the raw data came from (the landing folder), for baselines
}


ALERTS_COLUMNS = {
    "alert_id": "VARCHAR",
    "created_at": "TIMESTAMP",  # UTC
    "run_id": "VARCHAR",
    "as_of_date": "DATE",
    "kind": "VARCHAR",  # gate_failure, gate_warning, hygiene_digest
    "severity": "VARCHAR",  # blocking, warning, info
    "table_name": "VARCHAR",
    "check_name": "VARCHAR",
    "failing_row_count": "BIGINT",
    "examples": "VARCHAR",  # JSON [{value, source}]
    "recipient": "VARCHAR",  # the manager (user id) of a digest
    "title": "VARCHAR",
    "message": "VARCHAR",
}


def served_path(serve_dir: Path) -> Path:
    return Path(serve_dir) / SERVED_FILE


@contextlib.contextmanager
def open_served(serve_dir: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only view of the served file, or None when nothing was published yet.

    Attached from an in-memory database rather than `duckdb.connect(path)`: DuckDB caches
    database instances by path within a process, so a connection opened by path while an
    older one is still open would keep showing the file replaced since.
    """
    path = served_path(serve_dir)
    if not path.exists():
        yield None
        return
    con = duckdb.connect()
    try:
        con.execute(f"attach {quote_literal(str(path))} as served (read_only)")
        con.execute("use served")
        yield con
    finally:
        con.close()


def last_good_raw_counts(
    warehouse_path: Path,
    source_key: str,
    *,
    serve_dir: Path | None = None,
    loads: int | None = None,
    tables: Iterable[str] = (),
) -> dict[str, int]:
    """The gate's row-count baseline for `source_key` (e.g. the resolved landing folder, or
    "<source kind>:<location>"): the max of its last `loads` good loads, from the state
    file beside `warehouse_path` (never the served file). See `revops.state`."""

    return state.last_good_raw_counts(
        state.state_path_for(warehouse_path),
        source_key,
        loads=loads or state.DEFAULT_BASELINE_LOADS,
        tables=tables,
        serve_dir=serve_dir,
    )


def read_publish_log(serve_dir: Path, limit: int = 5) -> list[dict[str, Any]]:
    with open_served(serve_dir) as con:
        if con is None or not _has_table(con, "main", "publish_log"):
            return []
        relation = con.execute(
            f"select * from main.publish_log order by published_at desc limit {int(limit)}"
        )
        columns = [d[0] for d in relation.description]
        return [dict(zip(columns, row, strict=False)) for row in relation.fetchall()]


def read_alerts(serve_dir: Path, run_id: str | None = None) -> list[dict[str, Any]]:
    with open_served(serve_dir) as con:
        if con is None or not _has_table(con, "main", "alerts"):
            return []
        where, params = ("where run_id = ?", [run_id]) if run_id else ("", [])
        relation = con.execute(f"select * from main.alerts {where} order by created_at", params)
        columns = [d[0] for d in relation.description]
        return [dict(zip(columns, row, strict=False)) for row in relation.fetchall()]


@dataclass(frozen=True)
class KeptDay:
    """One published as_of_date whose marts are still in the serving folder: the last publish of
    that day, its Parquet version folder, and whether it is what BI reads now."""

    as_of_date: dt.date
    publish_id: str
    published_at: dt.datetime  # UTC
    parquet_version: str
    is_current: bool


def day_versions(serve_dir: Path) -> list[KeptDay]:
    """The last publish of each as_of_date in the served file's publish log, newest day first,
    whether or not its version folder is still there (`kept_days` keeps only those that are)."""
    serve_dir = Path(serve_dir)
    with open_served(serve_dir) as con:
        if con is None or not _has_table(con, "main", "publish_log"):
            return []
        rows = con.execute(
            "select as_of_date, publish_id, published_at, parquet_version from main.publish_log "
            "where parquet_version is not null and as_of_date is not null "
            "order by published_at desc, publish_id desc"
        ).fetchall()
    link = serve_dir / PARQUET_DIR / CURRENT_LINK
    current = os.readlink(link) if link.is_symlink() else None
    last_of_day: dict[dt.date, KeptDay] = {}
    for as_of_date, publish_id, published_at, version in rows:
        if as_of_date not in last_of_day:
            last_of_day[as_of_date] = KeptDay(
                as_of_date, publish_id, published_at, version, version == current
            )
    return sorted(last_of_day.values(), key=lambda day: day.as_of_date, reverse=True)


def kept_days(serve_dir: Path) -> list[KeptDay]:
    """The days a reader can still open, newest first: each published as_of_date whose last
    publish's Parquet folder (`parquet/<parquet_version>/`) is still in the serving folder."""
    parquet = Path(serve_dir) / PARQUET_DIR
    return [day for day in day_versions(serve_dir) if (parquet / day.parquet_version).is_dir()]


def parquet_location(version: Path, mart: str) -> str:
    """What `read_parquet` reads for `mart` in a Parquet version folder (`parquet/current`, a kept
    day's `parquet/v-<publish_id>`): `<mart>.parquet`, or `<mart>/*.parquet` for a mart published
    by month (`revops.publish.content.PARTITIONED_MARTS`)."""
    folder = Path(version) / mart
    return str(folder / "*.parquet") if folder.is_dir() else str(Path(version) / f"{mart}.parquet")


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        scalar(
            con,
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        )
    )


def mart_fingerprints(
    con: duckdb.DuckDBPyConnection, schema: str, marts: Iterable[str]
) -> tuple[dict[str, int], dict[str, str]]:
    """Row count and an order-independent fingerprint (sum of row hashes) of each mart.

    Floating-point columns are hashed rounded to 6 decimals: a parallel sum in DuckDB can
    differ in its last bits from one run to the next, which is not a change of content.
    """
    counts, prints, _ = mart_contents(con, schema, marts)
    return counts, prints


def mart_contents(
    con: duckdb.DuckDBPyConnection, schema: str, marts: Iterable[str]
) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """`mart_fingerprints`' row counts and fingerprints, and each mart's exact content hash
    (doubles hashed as they are), in one scan of each mart (`revops.publish.content`)."""
    counts, prints, exact = {}, {}, {}
    for mart in marts:
        content = mart_content(con, f"{quote_identifier(schema)}.{quote_identifier(mart)}")
        counts[mart], prints[mart], exact[mart] = content.rows, content.fingerprint, content.exact
    return counts, prints, exact
