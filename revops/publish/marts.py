"""`publish_marts`: the audited marts of the working warehouse copied to where BI reads, all or
nothing (see the package docstring for the steps).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from revops import state
from revops.clock import utcnow
from revops.publish.content import (
    EMPTY_PARTITION_FILE,
    PARTITIONED_MARTS,
    MartContent,
    mart_content,
    partition_filter_sql,
    read_content,
    write_content,
)
from revops.publish.files import (
    DEFAULT_SERVED_DAYS_KEPT,
    PARQUET_TMP_PREFIX,
    TMP_PREFIX,
    clean_stale_files,
    days_to_keep,
    fsync,
    prune_parquet_versions,
    publish_lock,
    remove_database_file,
    swap_in,
)
from revops.publish.history import (
    attach_history,
    copy_history,
    create_log_tables,
    describe_served,
    has_table_in,
)
from revops.publish.journal import (
    JOURNAL_FILE,
    PREVIOUS_PREFIX,
    current_version,
    finish_publish,
    point_current,
    recover_interrupted_publish,
    undo_publish,
)
from revops.publish.request import (
    PUBLISH_STEPS,
    PublishError,
    PublishRequest,
    PublishResult,
    failure_reason,
    not_published,
    older_as_of_refusal,
    publish_log_row,
)
from revops.publish.served import (
    CURRENT_LINK,
    MARTS_SCHEMA,
    PARQUET_DIR,
    read_publish_log,
    served_path,
)
from revops.sql import quote_identifier, quote_literal, scalar


def publish_marts(
    working_warehouse: Path,
    serve_dir: Path,
    request: PublishRequest,
    *,
    state_path: Path | None = None,
    on_step: Callable[[str], None] | None = None,
    days_kept: int = DEFAULT_SERVED_DAYS_KEPT,
) -> PublishResult:
    """Publish the marts of the working warehouse, all or nothing. Call only after every
    blocking check passed.

    `state_path`: the state file (`revops.state`) the history comes from and the publish
    is committed to; None: history carried forward from the previous served file.
    `on_step`: called with each name of `PUBLISH_STEPS` before that step runs.
    `days_kept`: the published days whose marts stay in the serving folder (the last version
    of each of the latest `days_kept` as_of_dates; see `revops.publish.files`).
    Raises OlderAsOfError for an older as_of_date than the one served (unless
    `request.allow_older`), PublishError naming the failed step and what BI reads."""
    started = time.monotonic()
    if int(days_kept) < 1:
        raise PublishError(f"days_kept={days_kept!r}: expected 1 or more published days to keep")
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
        skipped = not_published(
            request,
            started,
            _older_as_of(serve_dir, state_file, request),
            served_path=served_path(serve_dir),
            parquet_dir=parquet / CURRENT_LINK,
        )
        if skipped is not None:
            return skipped
        parquet.mkdir(parents=True, exist_ok=True)
        tmp = serve_dir / f"{TMP_PREFIX}{publish_id}"
        version_tmp = parquet / f"{PARQUET_TMP_PREFIX}{publish_id}"
        version = parquet / f"v-{publish_id}"
        published_at = utcnow()
        journal: dict[str, Any] | None = None
        journal_tmp = serve_dir / f"{TMP_PREFIX}journal-{publish_id}"
        current_step = PUBLISH_STEPS[0]
        log_row = publish_log_row(publish_id, request, published_at, version.name)
        try:
            step(current_step)
            previous = _current_version_dir(parquet)
            known = read_content(previous)
            con, contents, served_kept = _copy_marts(
                tmp, served_path(serve_dir), working_warehouse, request.marts, known
            )
            try:
                counts = {mart: contents[mart].rows for mart in request.marts}
                prints = {mart: contents[mart].fingerprint for mart in request.marts}
                log_row.update(mart_row_counts=counts, mart_fingerprints=prints)

                current_step = "write_history"
                step(current_step)
                create_log_tables(con)
                alias = attach_history(con, serve_dir, state_file)
                if alias:
                    copy_history(con, alias)
                    con.execute(f"detach {alias}")
                state.insert_rows(con, "publish_log", [log_row])
                state.insert_rows(con, "alerts", request.alerts)

                current_step = "write_parquet"
                step(current_step)
                version_tmp.mkdir()
                reused, partitions_written = _write_parquet_version(
                    con, request.marts, contents, known, version_tmp, previous
                )
                con.execute("checkpoint")
            finally:
                con.close()
            for path in sorted(version_tmp.rglob("*"), reverse=True):
                fsync(path)

            current_step = "rename_version"
            step(current_step)
            os.rename(version_tmp, version)
            fsync(parquet)

            current_step = "journal"
            step(current_step)
            served = served_path(serve_dir)
            journal = {
                "publish_id": publish_id,
                "version": version.name,
                "previous_version": current_version(parquet),
                "had_served": served.exists(),
                "state_file": str(state_file) if state_file is not None else None,
            }
            if journal["had_served"]:
                os.link(served, serve_dir / f"{PREVIOUS_PREFIX}{publish_id}")
            journal_tmp.write_text(json.dumps(journal), encoding="utf-8")
            swap_in(journal_tmp, serve_dir / JOURNAL_FILE)

            current_step = "swap_served"
            step(current_step)
            swap_in(tmp, served)

            current_step = "swap_current"
            step(current_step)
            point_current(parquet, version.name, publish_id)
            fsync(parquet)

            current_step = "commit_state"
            step(current_step)
            if state_file is not None:
                state.commit_publish(state_file, log_row, request.alerts, serve_dir=serve_dir)
        except BaseException as error:
            remove_database_file(tmp)
            journal_tmp.unlink(missing_ok=True)
            shutil.rmtree(version_tmp, ignore_errors=True)
            undone = True
            try:
                if journal is not None:
                    undo_publish(serve_dir, journal)
                    finish_publish(serve_dir, journal)
                elif version.exists() and current_version(parquet) != version.name:
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
            reason = failure_reason(error)
            raise PublishError(
                f"publishing {publish_id} failed at step {current_step} ({reason}); nothing of it is served: "
                f"{served_now}"
            ) from error

        warnings = []
        try:
            step("finish")
            finish_publish(serve_dir, journal)
            prune_parquet_versions(parquet, also_keep=days_to_keep(serve_dir, int(days_kept)))
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
        parquet_reused=tuple(reused),
        served_kept=tuple(served_kept),
        partitions_written=partitions_written,
        partition_counts={mart: len(contents[mart].partitions) for mart in partitions_written},
    )


def _older_as_of(serve_dir: Path, state_file: Path | None, request: PublishRequest) -> str | None:
    """Why this publish would show BI an older (or, for `only_if_newer`, not newer) day."""
    if state_file is not None:
        last = state.last_publish(state_file, serve_dir=serve_dir)
    else:
        log = read_publish_log(serve_dir, limit=1) if served_path(serve_dir).exists() else []
        last = log[0] if log else None
    return older_as_of_refusal(last, request)


def _current_version_dir(parquet: Path) -> Path | None:
    name = current_version(parquet)
    return parquet / name if name else None


def _copy_marts(
    tmp: Path,
    served: Path,
    working_warehouse: Path,
    marts: Sequence[str],
    known: Mapping[str, MartContent],
) -> tuple[duckdb.DuckDBPyConnection, dict[str, MartContent], list[str]]:
    """The new served file at `tmp` with the working warehouse's marts, open; each mart's
    content (`revops.publish.content`); the marts whose table was kept as it was served.

    When the current publish says what it holds (`known`, its `_content.json`), the new file
    starts as a byte copy of the served one and only what changed is written: a mart whose
    content, columns and row count are those served keeps its table, a partitioned mart
    (`PARTITIONED_MARTS`) has the rows of its changed months deleted and inserted again, any
    other changed mart is copied whole. Otherwise (the first publish, a served file from before
    this, a leftover WAL) every mart is copied into a new file. The history tables are dropped:
    `write_history` writes them again."""
    copied = _open_copy(served, tmp) if known and not Path(f"{served}.wal").exists() else None
    patch = copied is not None
    con = copied if copied is not None else duckdb.connect(str(tmp))
    try:
        con.execute(f"attach {quote_literal(str(working_warehouse))} as build (read_only)")
        missing = [m for m in marts if not has_table_in(con, "build", MARTS_SCHEMA, m)]
        if missing:
            raise PublishError(
                f"the working warehouse has no {', '.join(f'{MARTS_SCHEMA}.{m}' for m in missing)}"
            )
        con.execute(f"create schema if not exists {MARTS_SCHEMA}")
        for history_table in ("publish_log", "alerts"):
            con.execute(f"drop table if exists main.{history_table}")
        served_tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = current_database() and table_schema = ?",
                [MARTS_SCHEMA],
            ).fetchall()
        }
        contents: dict[str, MartContent] = {}
        kept = []
        for mart in marts:
            source = f"build.{MARTS_SCHEMA}.{quote_identifier(mart)}"
            target = f"{MARTS_SCHEMA}.{quote_identifier(mart)}"
            partition_by = PARTITIONED_MARTS.get(mart)
            content = contents[mart] = mart_content(con, source, partition_by)
            before = known.get(mart) if patch and mart in served_tables else None
            if before is not None and (
                before.columns != content.columns
                or scalar(con, f"select count(*) from {target}") != before.rows
            ):
                before = None  # not what the current publish says it holds: copied whole
            if before is not None and before.exact == content.exact:
                kept.append(mart)
            elif before is not None and partition_by and before.partitions:
                where = partition_filter_sql(partition_by, content.changed_partitions(before))
                con.execute(f"delete from {target} where {where}")
                con.execute(f"insert into {target} select * from {source} where {where}")
                if scalar(con, f"select count(*) from {target}") != content.rows:  # never served so
                    con.execute(f"create or replace table {target} as select * from {source}")
            else:
                con.execute(f"create or replace table {target} as select * from {source}")
        for stale in sorted(served_tables - set(marts)):
            con.execute(f"drop table {MARTS_SCHEMA}.{quote_identifier(stale)}")
        con.execute("detach build")
    except BaseException:
        con.close()
        raise
    return con, contents, kept


def _open_copy(served: Path, tmp: Path) -> duckdb.DuckDBPyConnection | None:
    """A byte copy of the served file at `tmp`, open; None when there is no served file or it
    cannot be read (a corrupt file is not patched: the publish writes a new one)."""
    if not served.exists():
        return None
    shutil.copyfile(served, tmp)
    con = None
    try:
        con = duckdb.connect(str(tmp))
        con.execute("select count(*) from information_schema.tables").fetchall()
        return con
    except duckdb.Error:
        if con is not None:
            con.close()
        remove_database_file(tmp)
        return None


def _write_parquet_version(
    con: duckdb.DuckDBPyConnection,
    marts: Sequence[str],
    contents: Mapping[str, MartContent],
    known: Mapping[str, MartContent],
    version_tmp: Path,
    previous: Path | None,
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Each mart's Parquet in the new version folder: `<mart>.parquet`, or for a partitioned mart
    a folder `<mart>/` of one `<YYYY-MM>.parquet` per month. Returns the marts whose every file
    was reused, and the months written of each partitioned mart.

    A file whose content (`MartContent.exact`, per partition for a partitioned mart) and columns
    are exactly those of the current version's gets a hard link to that file instead of a new
    one: the daily publish writes only what changed. Parquet files are never written to once
    made, so the versions sharing one stay independent: pruning a version removes its link, and
    a reader holding the file keeps reading it."""
    reused: list[str] = []
    written: dict[str, tuple[str, ...]] = {}
    for mart in marts:
        content, before = contents[mart], known.get(mart)
        same_columns = before is not None and before.columns == content.columns
        table = f"{MARTS_SCHEMA}.{quote_identifier(mart)}"
        partition_by = PARTITIONED_MARTS.get(mart)
        if partition_by is None:
            target = version_tmp / f"{mart}.parquet"
            unchanged = same_columns and before is not None and before.exact == content.exact
            if unchanged and _link_from(previous, target.name, target):
                reused.append(mart)
                continue
            _copy_to_parquet(con, f"select * from {table}", target)
            continue
        folder = version_tmp / mart
        folder.mkdir()
        months = []
        for label, value in sorted(content.partitions.items()):
            target = folder / f"{label}.parquet"
            unchanged = same_columns and before is not None and before.partitions.get(label) == value
            if unchanged and _link_from(previous, f"{mart}/{target.name}", target):
                continue
            _copy_to_parquet(
                con, f"select * from {table} where {partition_filter_sql(partition_by, [label])}", target
            )
            months.append(label)
        if not content.partitions:  # no rows: one empty file says what the columns are
            _copy_to_parquet(con, f"select * from {table} limit 0", folder / EMPTY_PARTITION_FILE)
        written[mart] = tuple(months)
        if content.partitions and not months:
            reused.append(mart)
    write_content(version_tmp, contents)
    return reused, written


def _link_from(previous: Path | None, name: str, target: Path) -> bool:
    """`target` as a hard link to the file `name` of the version folder `previous`; False when
    that cannot be (no previous version, no such file, a file system without hard links): then
    the caller writes it."""
    if previous is None:
        return False
    try:
        os.link(previous / name, target)
        return True
    except OSError:
        target.unlink(missing_ok=True)
        return False


def _copy_to_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    con.execute(f"copy ({query}) to {quote_literal(str(target))} (format parquet)")
