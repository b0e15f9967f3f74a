"""Write-audit-publish: copy the audited marts from the working warehouse to where BI reads.

The serving folder (`Settings.serve_dir`, env REVOPS_SERVE_DIR, default `data/serve`):

    revops.duckdb          the served warehouse BI opens read-only: schema `marts` (one
                           table per mart), `main.publish_log`, `main.alerts`
    parquet/current ->     a symlink to the folder of the current publish
    parquet/v-<publish_id>/<mart>.parquet
    .publish.lock          serializes publishers (an flock, released if a process dies)

Atomicity: the new `revops.duckdb` is built as a temporary file beside the served one,
checkpointed, fsynced and put in place with one `os.replace`. A reader that already has
the old file open keeps reading the old inode; a reader opening after the rename gets
the new file; nobody ever sees a half-written file, and readers never block the build
(the build never opens the served file for writing). The Parquet copy is written into
a new version folder and made current by replacing the `current` symlink in one rename.
Each of the two swaps is atomic; between them (microseconds) the DuckDB file can be one
publish ahead of the Parquet folder, and `publish_log.parquet_version` names the folder
that belongs to each publish.

A failed run changes no mart: its alerts are recorded by copying the served file, adding
the alert rows to `main.alerts`, and swapping the copy in the same way, so the marts stay
byte-for-byte those of the last good publish (see `record_alerts`).

A process killed at any point leaves the served file intact: until the rename nothing but
temporary files (`.revops.duckdb.tmp-*`, `parquet/.tmp-*`) was written, and the next
publisher removes them under the lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

SERVED_FILE = "revops.duckdb"
PARQUET_DIR = "parquet"
CURRENT_LINK = "current"
LOCK_FILE = ".publish.lock"
TMP_PREFIX = f".{SERVED_FILE}.tmp-"
PARQUET_TMP_PREFIX = ".tmp-"
PARQUET_KEEP_VERSIONS = 2  # the current one and the one before, for readers mid-read
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


class PublishError(RuntimeError):
    """The marts could not be published; the served ones are unchanged."""


@dataclass
class PublishResult:
    publish_id: str
    run_id: str
    as_of_date: dt.date
    published_at: dt.datetime
    served_path: Path
    parquet_dir: Path
    mart_row_counts: dict[str, int]
    mart_fingerprints: dict[str, str]
    seconds: float = 0.0


@dataclass
class PublishRequest:
    run_id: str
    as_of_date: dt.date
    marts: Sequence[str]
    raw_row_counts: Mapping[str, int] = field(default_factory=dict)
    checks: Sequence[Mapping[str, Any]] = ()
    alerts: Sequence[Mapping[str, Any]] = ()  # rows for main.alerts (see ALERTS_COLUMNS)


def served_path(serve_dir: Path) -> Path:
    return Path(serve_dir) / SERVED_FILE


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _quote(identifier: str) -> str:
    return '"' + str(identifier).replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


# --------------------------------------------------------------------------- locking and cleanup


@contextlib.contextmanager
def publish_lock(serve_dir: Path, timeout_seconds: float = 600) -> Iterator[None]:
    """One publisher at a time. An flock dies with its process: a kill -9 frees it."""
    serve_dir = Path(serve_dir)
    serve_dir.mkdir(parents=True, exist_ok=True)
    with open(serve_dir / LOCK_FILE, "a+") as handle:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PublishError(
                        f"another publish holds {serve_dir / LOCK_FILE} for more than {timeout_seconds:.0f} s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def clean_stale_files(serve_dir: Path) -> list[Path]:
    """Remove what a killed publisher left behind. Call only under `publish_lock`."""
    serve_dir = Path(serve_dir)
    removed = []
    for path in serve_dir.glob(f"{TMP_PREFIX}*"):
        path.unlink(missing_ok=True)
        removed.append(path)
    parquet = serve_dir / PARQUET_DIR
    if parquet.is_dir():
        for path in parquet.iterdir():
            if path.name.startswith(PARQUET_TMP_PREFIX) or path.name.startswith(f"{CURRENT_LINK}.tmp-"):
                if path.is_symlink() or path.is_file():
                    path.unlink(missing_ok=True)
                else:
                    shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _prune_parquet_versions(parquet: Path, keep: int = PARQUET_KEEP_VERSIONS) -> None:
    current = (parquet / CURRENT_LINK).resolve() if (parquet / CURRENT_LINK).is_symlink() else None
    versions = sorted(
        (p for p in parquet.iterdir() if p.is_dir() and not p.is_symlink() and p.name.startswith("v-")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in versions[:-keep] if keep else versions:
        if current is not None and old.resolve() == current:
            continue
        shutil.rmtree(old, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_in(tmp: Path, target: Path) -> None:
    """Make `tmp` the file at `target` in one step, durably."""
    _fsync(tmp)
    os.replace(tmp, target)
    _fsync(target.parent)


# --------------------------------------------------------------------------- reading the served file


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
        con.execute(f"attach {_sql_string(str(path))} as served (read_only)")
        con.execute("use served")
        yield con
    finally:
        con.close()


def last_good_raw_counts(serve_dir: Path) -> dict[str, int]:
    """Raw row counts of the last published run: the gate's baseline for a collapsing table."""
    with open_served(serve_dir) as con:
        if con is None or not _has_table(con, "main", "publish_log"):
            return {}
        row = con.execute(
            "select raw_row_counts from main.publish_log order by published_at desc limit 1"
        ).fetchone()
    return {k: int(v) for k, v in json.loads(row[0] or "{}").items()} if row else {}


def read_publish_log(serve_dir: Path, limit: int = 5) -> list[dict[str, Any]]:
    with open_served(serve_dir) as con:
        if con is None or not _has_table(con, "main", "publish_log"):
            return []
        relation = con.execute(
            f"select * from main.publish_log order by published_at desc limit {int(limit)}"
        )
        columns = [d[0] for d in relation.description]
        return [dict(zip(columns, row)) for row in relation.fetchall()]


def read_alerts(serve_dir: Path, run_id: str | None = None) -> list[dict[str, Any]]:
    with open_served(serve_dir) as con:
        if con is None or not _has_table(con, "main", "alerts"):
            return []
        where, params = ("where run_id = ?", [run_id]) if run_id else ("", [])
        relation = con.execute(f"select * from main.alerts {where} order by created_at", params)
        columns = [d[0] for d in relation.description]
        return [dict(zip(columns, row)) for row in relation.fetchall()]


def _has_table(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


FINGERPRINT_DECIMALS = 6


def mart_fingerprints(con, schema: str, marts: Iterable[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Row count and an order-independent fingerprint (sum of row hashes) of each mart.

    Floating-point columns are hashed rounded to 6 decimals: a parallel sum in DuckDB can
    differ in its last bits from one run to the next, which is not a change of content.
    """
    counts, prints = {}, {}
    for mart in marts:
        table = f"{_quote(schema)}.{_quote(mart)}"
        columns = con.execute(f"describe {table}").fetchall()
        values = ", ".join(
            f"round({_quote(name)}, {FINGERPRINT_DECIMALS})"
            if str(type_).upper() in ("DOUBLE", "FLOAT", "REAL")
            else _quote(name)
            for name, type_, *_ in columns
        )
        rows, digest = con.execute(
            f"select count(*), coalesce(sum(hash({values})::hugeint), 0) from {table}"
        ).fetchone()
        counts[mart], prints[mart] = int(rows), f"{int(digest):x}"
    return counts, prints


# --------------------------------------------------------------------------- publishing


def _create_log_tables(con) -> None:
    for table, columns in (("publish_log", PUBLISH_LOG_COLUMNS), ("alerts", ALERTS_COLUMNS)):
        ddl = ", ".join(f"{_quote(c)} {t}" for c, t in columns.items())
        con.execute(f"create table if not exists main.{table} ({ddl})")


def _carry_forward(con, source_alias: str) -> None:
    """Copy the history tables of the previous served file (the columns both know)."""
    for table, columns in (("publish_log", PUBLISH_LOG_COLUMNS), ("alerts", ALERTS_COLUMNS)):
        if not _has_table_in(con, source_alias, "main", table):
            continue
        old = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_catalog = ? and table_schema = 'main' and table_name = ?",
                [source_alias, table],
            ).fetchall()
        }
        shared = ", ".join(_quote(c) for c in columns if c in old)
        con.execute(
            f"insert into main.{table} ({shared}) select {shared} from {source_alias}.main.{table}"
        )


def _has_table_in(con, catalog: str, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = ? and table_schema = ? and table_name = ?",
            [catalog, schema, table],
        ).fetchone()[0]
    )


def _insert_rows(con, table: str, columns: Mapping[str, str], rows: Iterable[Mapping[str, Any]]) -> None:
    names = list(columns)
    sql = (
        f"insert into main.{table} ({', '.join(_quote(c) for c in names)}) "
        f"values ({', '.join('?' for _ in names)})"
    )
    for row in rows:
        con.execute(sql, [_db_value(row.get(c)) for c in names])


def _db_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, sort_keys=True)
    return value


def publish_marts(working_warehouse: Path, serve_dir: Path, request: PublishRequest) -> PublishResult:
    """Publish the marts of the working warehouse. Call only after every blocking check passed."""
    started = time.monotonic()
    serve_dir = Path(serve_dir)
    working_warehouse = Path(working_warehouse)
    if not working_warehouse.exists():
        raise PublishError(f"the working warehouse {working_warehouse} does not exist")
    publish_id = f"{_utcnow():%Y%m%dT%H%M%S}-{request.run_id[:8]}-{uuid.uuid4().hex[:6]}"
    parquet = serve_dir / PARQUET_DIR
    with publish_lock(serve_dir):
        clean_stale_files(serve_dir)
        parquet.mkdir(parents=True, exist_ok=True)
        tmp = serve_dir / f"{TMP_PREFIX}{publish_id}"
        version_tmp = parquet / f"{PARQUET_TMP_PREFIX}{publish_id}"
        version = parquet / f"v-{publish_id}"
        published_at = _utcnow()
        try:
            con = duckdb.connect(str(tmp))
            try:
                con.execute(f"attach {_sql_string(str(working_warehouse))} as build (read_only)")
                missing = [m for m in request.marts if not _has_table_in(con, "build", MARTS_SCHEMA, m)]
                if missing:
                    raise PublishError(
                        f"the working warehouse has no {', '.join(f'{MARTS_SCHEMA}.{m}' for m in missing)}"
                    )
                con.execute(f"create schema {MARTS_SCHEMA}")
                for mart in request.marts:
                    con.execute(
                        f"create table {MARTS_SCHEMA}.{_quote(mart)} as "
                        f"select * from build.{MARTS_SCHEMA}.{_quote(mart)}"
                    )
                con.execute("detach build")
                counts, prints = mart_fingerprints(con, MARTS_SCHEMA, request.marts)
                _create_log_tables(con)
                previous = served_path(serve_dir)
                if previous.exists():
                    con.execute(f"attach {_sql_string(str(previous))} as previous (read_only)")
                    _carry_forward(con, "previous")
                    con.execute("detach previous")
                checks = list(request.checks)
                _insert_rows(
                    con,
                    "publish_log",
                    PUBLISH_LOG_COLUMNS,
                    [
                        {
                            "publish_id": publish_id,
                            "run_id": request.run_id,
                            "as_of_date": request.as_of_date,
                            "published_at": published_at,
                            "mart_count": len(request.marts),
                            "mart_row_counts": counts,
                            "mart_fingerprints": prints,
                            "raw_row_counts": dict(request.raw_row_counts),
                            "checks_passed": sum(1 for c in checks if c.get("passed")),
                            "checks_warned": sum(1 for c in checks if not c.get("passed")),
                            "checks": checks,
                            "parquet_version": version.name,
                        }
                    ],
                )
                _insert_rows(con, "alerts", ALERTS_COLUMNS, request.alerts)
                version_tmp.mkdir()
                for mart in request.marts:
                    target = version_tmp / f"{mart}.parquet"
                    con.execute(
                        f"copy {MARTS_SCHEMA}.{_quote(mart)} to {_sql_string(str(target))} (format parquet)"
                    )
                con.execute("checkpoint")
            finally:
                con.close()
            for path in version_tmp.iterdir():
                _fsync(path)
            os.rename(version_tmp, version)
            _fsync(parquet)
            _swap_in(tmp, served_path(serve_dir))
            link_tmp = parquet / f"{CURRENT_LINK}.tmp-{publish_id}"
            os.symlink(version.name, link_tmp)
            os.replace(link_tmp, parquet / CURRENT_LINK)
            _fsync(parquet)
            _prune_parquet_versions(parquet)
        except BaseException:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            shutil.rmtree(version_tmp, ignore_errors=True)
            link = parquet / CURRENT_LINK
            if version.exists() and not (link.is_symlink() and link.resolve() == version.resolve()):
                shutil.rmtree(version, ignore_errors=True)
            raise
    return PublishResult(
        publish_id=publish_id,
        run_id=request.run_id,
        as_of_date=request.as_of_date,
        published_at=published_at,
        served_path=served_path(serve_dir),
        parquet_dir=parquet / CURRENT_LINK,
        mart_row_counts=counts,
        mart_fingerprints=prints,
        seconds=time.monotonic() - started,
    )


def record_alerts(serve_dir: Path, alerts: Sequence[Mapping[str, Any]]) -> Path:
    """Add alert rows to the served file without touching its marts.

    The served file is copied byte for byte, the rows are added to the copy's
    `main.alerts`, and the copy replaces the served file in one rename: the marts stay
    exactly those of the last good publish, and readers see the old file or the new one.
    When nothing was published yet, the new file has an empty `marts` schema.
    """
    serve_dir = Path(serve_dir)
    with publish_lock(serve_dir):
        clean_stale_files(serve_dir)
        target = served_path(serve_dir)
        tmp = serve_dir / f"{TMP_PREFIX}alerts-{uuid.uuid4().hex[:8]}"
        try:
            if target.exists():
                shutil.copyfile(target, tmp)
            con = duckdb.connect(str(tmp))
            try:
                con.execute(f"create schema if not exists {MARTS_SCHEMA}")
                _create_log_tables(con)
                _insert_rows(con, "alerts", ALERTS_COLUMNS, alerts)
                con.execute("checkpoint")
            finally:
                con.close()
            _swap_in(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            raise
    return target
