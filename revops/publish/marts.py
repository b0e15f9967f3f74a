"""`publish_marts`: the audited marts of the working warehouse copied to where BI reads, all or
nothing (see the package docstring for the steps).
"""

from __future__ import annotations

import contextlib
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
from revops.publish.files import (
    DEFAULT_SERVED_DAYS_KEPT,
    PARQUET_TMP_PREFIX,
    TMP_PREFIX,
    clean_stale_files,
    days_to_keep,
    fsync,
    prune_parquet_versions,
    publish_lock,
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
    mart_contents,
    read_publish_log,
    served_path,
)
from revops.sql import quote_identifier, quote_literal


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
            con = duckdb.connect(str(tmp))
            try:
                con.execute(f"attach {quote_literal(str(working_warehouse))} as build (read_only)")
                missing = [m for m in request.marts if not has_table_in(con, "build", MARTS_SCHEMA, m)]
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
                counts, prints, exact = mart_contents(con, MARTS_SCHEMA, request.marts)
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
                reused = _write_parquet_version(con, request.marts, exact, version_tmp, parquet)
                con.execute("checkpoint")
            finally:
                con.close()
            for path in version_tmp.iterdir():
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
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
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
    )


def _older_as_of(serve_dir: Path, state_file: Path | None, request: PublishRequest) -> str | None:
    """Why this publish would show BI an older (or, for `only_if_newer`, not newer) day."""
    if state_file is not None:
        last = state.last_publish(state_file, serve_dir=serve_dir)
    else:
        log = read_publish_log(serve_dir, limit=1) if served_path(serve_dir).exists() else []
        last = log[0] if log else None
    return older_as_of_refusal(last, request)


# beside each Parquet version: the exact content hash of each mart it holds, so that the next
# publish can tell which files it may reuse
CONTENT_FILE = "_content.json"


def _write_parquet_version(
    con: duckdb.DuckDBPyConnection,
    marts: Sequence[str],
    exact: Mapping[str, str],
    version_tmp: Path,
    parquet: Path,
) -> list[str]:
    """Each mart's Parquet file in the new version folder; the marts it reused.

    A mart whose content (`exact`: its hash with doubles to the last bit, `mart_contents`) is
    exactly that of the current version's file gets a hard link to that file instead of a new
    one: the daily publish writes only what changed. Parquet files are never written to once made, so the versions
    sharing one stay independent: pruning a version removes its link, and a reader holding
    the file keeps reading it."""
    previous_name = current_version(parquet)
    previous = parquet / previous_name if previous_name else None
    known: dict[str, str] = {}
    if previous is not None and (previous / CONTENT_FILE).is_file():
        with contextlib.suppress(ValueError, OSError):
            known = json.loads((previous / CONTENT_FILE).read_text(encoding="utf-8"))
    reused = []
    for mart in marts:
        target = version_tmp / f"{mart}.parquet"
        source = previous / f"{mart}.parquet" if previous is not None else None
        if source is not None and known.get(mart) == exact[mart] and source.is_file():
            try:
                os.link(source, target)
                reused.append(mart)
                continue
            except OSError:  # a file system without hard links: written again below
                target.unlink(missing_ok=True)
        con.execute(
            f"copy {MARTS_SCHEMA}.{quote_identifier(mart)} to {quote_literal(str(target))} (format parquet)"
        )
    (version_tmp / CONTENT_FILE).write_text(json.dumps(dict(exact), sort_keys=True), encoding="utf-8")
    return reused
