"""Write-audit-publish: copy the audited marts from the working warehouse to where BI reads.

The serving folder (`Settings.serve_dir`, env REVOPS_SERVE_DIR, default `data/serve`):

    revops.duckdb          the served warehouse BI opens read-only: schema `marts` (one
                           table per mart), `main.publish_log`, `main.alerts`
    parquet/current ->     a symlink to the folder of the current publish
    parquet/v-<publish_id>/<mart>.parquet
    .publish.lock          serializes publishers (an flock, released if a process dies)

All or nothing: a publish prepares everything beside what is served (the new
`revops.duckdb` as a temporary file, the Parquet copy in a new version folder), then
writes a journal, swaps the DuckDB file in with one `os.replace`, swaps the `current`
symlink the same way, and commits the publish to the state file beside the working
warehouse (`revops.state`): that commit is the point of no return. A failure at any
step before it undoes the steps done (the previous served file, kept as a hard link,
goes back; `current` points at the previous version again) and the error says what
BI reads; a process killed between the swaps leaves the journal, and the next publish
(or alert) undoes or completes it before anything else. `PUBLISH_STEPS` names the
steps; `publish_marts(on_step=...)` is called before each (the tests inject failures
there). A reader that already has the old file open keeps reading the old inode;
readers never block the build, and the build never opens the served file for writing.

History: with a state file (`state_path`, what the pipeline passes), the publish log
and the alerts of the new served file are the state's, plus this publish: a deleted or
corrupt served file is rebuilt with its history by the next publish. Without one
(callers of the core on its own), they are carried forward from the previous served
file, as before the state file existed.

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from revops import state
from revops.clock import utcnow
from revops.sql import quote_identifier, quote_literal

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
    published: bool = True  # False: skipped (`only_if_newer` and not newer); `detail` says why
    detail: str = ""


@dataclass
class PublishRequest:
    run_id: str
    as_of_date: dt.date
    marts: Sequence[str]
    raw_row_counts: Mapping[str, int] = field(default_factory=dict)
    checks: Sequence[Mapping[str, Any]] = ()
    alerts: Sequence[Mapping[str, Any]] = ()  # rows for main.alerts (see ALERTS_COLUMNS)
    source_key: str | None = None  # where the raw data came from: its counts become that source's baseline
    allow_older: bool = False  # publish even when BI reads a newer as_of_date
    only_if_newer: bool = False  # skip (published=False) unless newer than the served as_of_date (backfill)


def served_path(serve_dir: Path) -> Path:
    return Path(serve_dir) / SERVED_FILE


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
        table = f"{quote_identifier(schema)}.{quote_identifier(mart)}"
        columns = con.execute(f"describe {table}").fetchall()
        values = ", ".join(
            f"round({quote_identifier(name)}, {FINGERPRINT_DECIMALS})"
            if str(type_).upper() in ("DOUBLE", "FLOAT", "REAL")
            else quote_identifier(name)
            for name, type_, *_ in columns
        )
        rows, digest = con.execute(
            f"select count(*), coalesce(sum(hash({values})::hugeint), 0) from {table}"
        ).fetchone()
        counts[mart], prints[mart] = int(rows), f"{int(digest):x}"
    return counts, prints


# --------------------------------------------------------------------------- publishing

# The steps of a publish, in order; `on_step(name)` is called before each.
PUBLISH_STEPS = (
    "copy_marts",  # the marts into the new DuckDB file (temporary, beside the served one)
    "write_history",  # publish_log and alerts into it: the state's (or the old file's) + this publish
    "write_parquet",  # the Parquet copy into parquet/.tmp-<publish_id>
    "rename_version",  # ... renamed to parquet/v-<publish_id>
    "journal",  # what to restore written down; the served file kept as a hard link
    "swap_served",  # os.replace of revops.duckdb
    "swap_current",  # os.replace of parquet/current
    "commit_state",  # the publish recorded in the state file: the point of no return
    "finish",  # journal and hard link removed, old Parquet versions pruned
)
JOURNAL_FILE = ".publish-journal.json"
PREVIOUS_PREFIX = f".{SERVED_FILE}.prev-"


class OlderAsOfError(PublishError):
    """The marts describe an older day than the ones served; refused unless allowed."""


def _create_log_tables(con) -> None:
    for table, columns in (("publish_log", PUBLISH_LOG_COLUMNS), ("alerts", ALERTS_COLUMNS)):
        ddl = ", ".join(f"{quote_identifier(c)} {t}" for c, t in columns.items())
        con.execute(f"create table if not exists main.{table} ({ddl})")


def _copy_history(con, source_alias: str) -> None:
    """Copy publish_log and alerts from an attached database (the columns both know)."""
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
        shared = ", ".join(quote_identifier(c) for c in columns if c in old)
        con.execute(f"insert into main.{table} ({shared}) select {shared} from {source_alias}.main.{table}")


def _has_table_in(con, catalog: str, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = ? and table_schema = ? and table_name = ?",
            [catalog, schema, table],
        ).fetchone()[0]
    )


def _attach_history(con, serve_dir: Path, state_file: Path | None) -> str | None:
    """Attach where the history comes from; returns its alias (None: there is none)."""
    if state_file is not None:
        with state.open_state(state_file, serve_dir=serve_dir):
            pass  # created (and a served file's history imported) when it did not exist
        con.execute(f"attach {quote_literal(str(state_file))} as history (read_only)")
        return "history"
    previous = served_path(serve_dir)
    if previous.exists():
        con.execute(f"attach {quote_literal(str(previous))} as history (read_only)")
        return "history"
    return None


def describe_served(serve_dir: Path, state_file: Path | None = None) -> str:
    """What BI reads now, in words, from the state file (or the served file)."""
    serve_dir = Path(serve_dir)
    try:
        if state_file is not None:
            last = state.last_publish(state_file, serve_dir=serve_dir)
        else:
            log = read_publish_log(serve_dir, limit=1)
            last = log[0] if log else None
    except Exception as error:
        return f"what is served could not be read ({type(error).__name__}: {error})"
    if last is None:
        return f"nothing has been published to {served_path(serve_dir)} yet"
    return (
        f"BI reads publish {last['publish_id']} (as_of_date {last['as_of_date']}, published "
        f"{last['published_at']:%Y-%m-%d %H:%M:%S} UTC) in {served_path(serve_dir)} and "
        f"{serve_dir / PARQUET_DIR / str(last['parquet_version'])}"
    )


def _current_version(parquet: Path) -> str | None:
    link = parquet / CURRENT_LINK
    return os.readlink(link) if link.is_symlink() else None


def _point_current(parquet: Path, version_name: str | None, tag: str) -> None:
    link = parquet / CURRENT_LINK
    if version_name is None:
        link.unlink(missing_ok=True)
        return
    link_tmp = parquet / f"{CURRENT_LINK}.tmp-{tag}"
    link_tmp.unlink(missing_ok=True)
    os.symlink(version_name, link_tmp)
    os.replace(link_tmp, link)


def _undo(serve_dir: Path, journal: Mapping[str, Any]) -> None:
    """Put back what the journal says was served before the publish it describes."""
    parquet = serve_dir / PARQUET_DIR
    served = served_path(serve_dir)
    previous = serve_dir / f"{PREVIOUS_PREFIX}{journal['publish_id']}"
    if journal.get("had_served"):
        if previous.exists():
            os.replace(previous, served)
    else:
        served.unlink(missing_ok=True)
    if _current_version(parquet) != journal.get("previous_version"):
        _point_current(parquet, journal.get("previous_version"), f"undo-{journal['publish_id']}")
    shutil.rmtree(parquet / journal["version"], ignore_errors=True)
    _fsync(serve_dir)
    if parquet.is_dir():
        _fsync(parquet)


def _finish(serve_dir: Path, journal: Mapping[str, Any]) -> None:
    (serve_dir / f"{PREVIOUS_PREFIX}{journal['publish_id']}").unlink(missing_ok=True)
    (serve_dir / JOURNAL_FILE).unlink(missing_ok=True)


def recover_interrupted_publish(serve_dir: Path, state_file: Path | None = None) -> str | None:
    """Complete or undo a publish a killed process left between its swaps. Call only under
    `publish_lock`. Returns what was done, or None when there was nothing to do."""
    serve_dir = Path(serve_dir)
    journal_path = serve_dir / JOURNAL_FILE
    if not journal_path.exists():
        return None
    try:
        journal = json.loads(journal_path.read_text(encoding="utf-8"))
    except ValueError:
        journal_path.unlink(missing_ok=True)  # written only after its fsync: a torn one did nothing
        return None
    committed = False
    if state_file is not None and journal.get("state_file") == str(state_file):
        committed = state.has_publish(state_file, journal["publish_id"])
    if committed:
        _finish(serve_dir, journal)
        return f"completed publish {journal['publish_id']} (interrupted after its commit)"
    _undo(serve_dir, journal)
    _finish(serve_dir, journal)
    return f"undid publish {journal['publish_id']} (interrupted before its commit)"


def publish_marts(
    working_warehouse: Path,
    serve_dir: Path,
    request: PublishRequest,
    *,
    state_path: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> PublishResult:
    """Publish the marts of the working warehouse, all or nothing. Call only after every
    blocking check passed.

    `state_path`: the state file (`revops.state`) the history comes from and the publish
    is committed to; None: history carried forward from the previous served file.
    `on_step`: called with each name of `PUBLISH_STEPS` before that step runs.
    Raises OlderAsOfError for an older as_of_date than the one served (unless
    `request.allow_older`), PublishError naming the failed step and what BI reads."""
    started = time.monotonic()
    serve_dir = Path(serve_dir)
    working_warehouse = Path(working_warehouse)
    state_file = Path(state_path) if state_path is not None else None
    if not working_warehouse.exists():
        raise PublishError(f"the working warehouse {working_warehouse} does not exist")
    publish_id = f"{utcnow():%Y%m%dT%H%M%S}-{request.run_id[:8]}-{uuid.uuid4().hex[:6]}"
    parquet = serve_dir / PARQUET_DIR
    step = lambda name: on_step(name) if on_step is not None else None  # noqa: E731
    with publish_lock(serve_dir):
        recover_interrupted_publish(serve_dir, state_file)
        clean_stale_files(serve_dir)
        refusal = _older_as_of(serve_dir, state_file, request)
        if refusal is not None:
            if request.only_if_newer:
                return PublishResult(
                    publish_id="",
                    run_id=request.run_id,
                    as_of_date=request.as_of_date,
                    published_at=utcnow(),
                    served_path=served_path(serve_dir),
                    parquet_dir=parquet / CURRENT_LINK,
                    mart_row_counts={},
                    mart_fingerprints={},
                    seconds=time.monotonic() - started,
                    published=False,
                    detail=refusal,
                )
            if not request.allow_older:
                raise OlderAsOfError(refusal)
        parquet.mkdir(parents=True, exist_ok=True)
        tmp = serve_dir / f"{TMP_PREFIX}{publish_id}"
        version_tmp = parquet / f"{PARQUET_TMP_PREFIX}{publish_id}"
        version = parquet / f"v-{publish_id}"
        published_at = utcnow()
        journal: dict[str, Any] | None = None
        journal_tmp = serve_dir / f"{TMP_PREFIX}journal-{publish_id}"
        current_step = PUBLISH_STEPS[0]
        checks = list(request.checks)
        log_row = {
            "publish_id": publish_id,
            "run_id": request.run_id,
            "as_of_date": request.as_of_date,
            "published_at": published_at,
            "mart_count": len(request.marts),
            "raw_row_counts": dict(request.raw_row_counts),
            "checks_passed": sum(1 for c in checks if c.get("passed")),
            "checks_warned": sum(1 for c in checks if not c.get("passed")),
            "checks": checks,
            "parquet_version": version.name,
            "source_key": request.source_key,
        }
        try:
            step(current_step)
            con = duckdb.connect(str(tmp))
            try:
                con.execute(f"attach {quote_literal(str(working_warehouse))} as build (read_only)")
                missing = [m for m in request.marts if not _has_table_in(con, "build", MARTS_SCHEMA, m)]
                if missing:
                    raise PublishError(
                        f"the working warehouse has no {', '.join(f'{MARTS_SCHEMA}.{m}' for m in missing)}"
                    )
                con.execute(f"create schema {MARTS_SCHEMA}")
                for mart in request.marts:
                    con.execute(
                        f"create table {MARTS_SCHEMA}.{quote_identifier(mart)} as "
                        f"select * from build.{MARTS_SCHEMA}.{quote_identifier(mart)}"
                    )
                con.execute("detach build")
                counts, prints = mart_fingerprints(con, MARTS_SCHEMA, request.marts)
                log_row.update(mart_row_counts=counts, mart_fingerprints=prints)

                current_step = "write_history"
                step(current_step)
                _create_log_tables(con)
                alias = _attach_history(con, serve_dir, state_file)
                if alias:
                    _copy_history(con, alias)
                    con.execute(f"detach {alias}")
                state.insert_rows(con, "publish_log", [log_row])
                state.insert_rows(con, "alerts", request.alerts)

                current_step = "write_parquet"
                step(current_step)
                version_tmp.mkdir()
                for mart in request.marts:
                    target = version_tmp / f"{mart}.parquet"
                    con.execute(
                        f"copy {MARTS_SCHEMA}.{quote_identifier(mart)} to {quote_literal(str(target))} (format parquet)"
                    )
                con.execute("checkpoint")
            finally:
                con.close()
            for path in version_tmp.iterdir():
                _fsync(path)

            current_step = "rename_version"
            step(current_step)
            os.rename(version_tmp, version)
            _fsync(parquet)

            current_step = "journal"
            step(current_step)
            served = served_path(serve_dir)
            journal = {
                "publish_id": publish_id,
                "version": version.name,
                "previous_version": _current_version(parquet),
                "had_served": served.exists(),
                "state_file": str(state_file) if state_file is not None else None,
            }
            if journal["had_served"]:
                os.link(served, serve_dir / f"{PREVIOUS_PREFIX}{publish_id}")
            journal_tmp.write_text(json.dumps(journal), encoding="utf-8")
            _swap_in(journal_tmp, serve_dir / JOURNAL_FILE)

            current_step = "swap_served"
            step(current_step)
            _swap_in(tmp, served)

            current_step = "swap_current"
            step(current_step)
            _point_current(parquet, version.name, publish_id)
            _fsync(parquet)

            current_step = "commit_state"
            step(current_step)
            if state_file is not None:
                _commit_to_state(state_file, serve_dir, log_row, request)
        except BaseException as error:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            journal_tmp.unlink(missing_ok=True)
            shutil.rmtree(version_tmp, ignore_errors=True)
            undone = True
            try:
                if journal is not None:
                    _undo(serve_dir, journal)
                    _finish(serve_dir, journal)
                elif version.exists() and _current_version(parquet) != version.name:
                    shutil.rmtree(version, ignore_errors=True)
            except OSError:
                undone = False
            if not isinstance(error, Exception):
                raise  # KeyboardInterrupt, SystemExit: the journal lets the next publish finish the undo
            served_now = describe_served(serve_dir, state_file)
            if not undone:
                served_now = (
                    f"the previous state could not be fully restored now; the next publish restores it from "
                    f"{serve_dir / JOURNAL_FILE} before anything else"
                )
            reason = str(error) if isinstance(error, PublishError) else f"{type(error).__name__}: {error}"
            raise PublishError(
                f"publishing {publish_id} failed at step {current_step} ({reason}); nothing of it is served: "
                f"{served_now}"
            ) from error

        warnings = []
        try:
            step("finish")
            _finish(serve_dir, journal)
            _prune_parquet_versions(parquet)
        except Exception as error:
            warnings.append(
                f"published, but tidying up failed ({type(error).__name__}: {error}); the next publish does it"
            )
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
        detail="; ".join(warnings),
    )


def _older_as_of(serve_dir: Path, state_file: Path | None, request: PublishRequest) -> str | None:
    """Why this publish would show BI an older (or, for `only_if_newer`, not newer) day."""
    if state_file is not None:
        last = state.last_publish(state_file, serve_dir=serve_dir)
    else:
        log = read_publish_log(serve_dir, limit=1) if served_path(serve_dir).exists() else []
        last = log[0] if log else None
    if last is None or last["as_of_date"] is None:
        return None
    served_day = last["as_of_date"]
    if request.as_of_date < served_day:
        return (
            f"the marts describe {request.as_of_date}, older than the {served_day} BI reads now (publish "
            f"{last['publish_id']}): publishing them would show BI older numbers; run with --allow-older to "
            "publish them anyway"
        )
    if request.only_if_newer and request.as_of_date == served_day:
        return f"BI already reads marts as of {served_day} (publish {last['publish_id']})"
    return None


def _commit_to_state(
    state_file: Path, serve_dir: Path, log_row: Mapping[str, Any], request: PublishRequest
) -> None:

    with state.open_state(state_file, serve_dir=serve_dir) as con:
        con.execute("begin transaction")
        try:
            state.insert_rows(con, "publish_log", [log_row])
            state.insert_rows(con, "alerts", request.alerts)
            if request.source_key is not None:
                state.insert_rows(
                    con,
                    "raw_baselines",
                    [
                        {
                            "source_key": request.source_key,
                            "table_name": table,
                            "row_count": int(rows),
                            "publish_id": log_row["publish_id"],
                            "recorded_at": log_row["published_at"],
                        }
                        for table, rows in request.raw_row_counts.items()
                    ],
                )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


@dataclass
class RecordedAlerts:
    """Where a failed run's alerts went."""

    served_path: Path
    in_served_file: bool
    state_path: Path | None
    detail: str = ""

    def where(self) -> str:
        if self.in_served_file:
            return f"{self.served_path} (main.alerts)"
        where = f"{self.state_path} (alerts)" if self.state_path else "nowhere"
        return f"{where}; not in {self.served_path}: {self.detail}"

    def __fspath__(self) -> str:  # callers that treated the result as the served file's path
        return str(self.served_path)

    def __str__(self) -> str:
        return str(self.served_path)


def record_alerts(
    serve_dir: Path, alerts: Sequence[Mapping[str, Any]], *, state_path: Path | None = None
) -> RecordedAlerts:
    """Add alert rows to the served file without touching its marts.

    With a state file, the rows go there first (the truth), then the served file's
    `main.publish_log` and `main.alerts` are refreshed from it; without one they are
    added to the served file's `main.alerts`. Either way the served file is copied byte
    for byte, the copy is changed and replaces the served file in one rename: the marts
    stay exactly those of the last good publish. When nothing was published yet, the
    new file has an empty `marts` schema. A served file that cannot be read is left as
    it is (the next publish rebuilds it from the state file's history)."""
    serve_dir = Path(serve_dir)
    target = served_path(serve_dir)
    state_file = Path(state_path) if state_path is not None else None
    if state_file is not None:
        state.append_alerts(state_file, alerts, serve_dir=serve_dir)
    with publish_lock(serve_dir):
        recover_interrupted_publish(serve_dir, state_file)
        clean_stale_files(serve_dir)
        tmp = serve_dir / f"{TMP_PREFIX}alerts-{uuid.uuid4().hex[:8]}"
        try:
            if target.exists():
                shutil.copyfile(target, tmp)
            con = duckdb.connect(str(tmp))
            try:
                con.execute(f"create schema if not exists {MARTS_SCHEMA}")
                _create_log_tables(con)
                if state_file is not None:
                    con.execute("delete from main.publish_log")
                    con.execute("delete from main.alerts")
                    con.execute(f"attach {quote_literal(str(state_file))} as history (read_only)")
                    _copy_history(con, "history")
                    con.execute("detach history")
                else:
                    state.insert_rows(con, "alerts", alerts)
                con.execute("checkpoint")
            finally:
                con.close()
            _swap_in(tmp, target)
        except duckdb.Error as error:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            if state_file is None:
                raise
            return RecordedAlerts(
                target,
                False,
                state_file,
                f"the served file cannot be read ({error}); the next publish rebuilds it with its history",
            )
        except BaseException:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            raise
    return RecordedAlerts(target, True, state_file)
