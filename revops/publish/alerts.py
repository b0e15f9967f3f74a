"""`record_alerts`: a failed run's alerts added to the served file's `main.alerts` by the same
copy-and-swap, so the served marts stay byte for byte those of the last good publish.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from revops import state
from revops.publish.files import TMP_PREFIX, clean_stale_files, publish_lock, remove_database_file, swap_in
from revops.publish.history import copy_history, create_log_tables
from revops.publish.journal import recover_interrupted_publish
from revops.publish.served import MARTS_SCHEMA, served_path
from revops.sql import quote_literal


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
                create_log_tables(con)
                if state_file is not None:
                    con.execute("delete from main.publish_log")
                    con.execute("delete from main.alerts")
                    con.execute(f"attach {quote_literal(str(state_file))} as history (read_only)")
                    copy_history(con, "history")
                    con.execute("detach history")
                else:
                    state.insert_rows(con, "alerts", alerts)
                con.execute("checkpoint")
            finally:
                con.close()
            swap_in(tmp, target)
        except duckdb.Error as error:
            remove_database_file(tmp)
            if state_file is None:
                raise
            return RecordedAlerts(
                target,
                False,
                state_file,
                f"the served file cannot be read ({error}); the next publish rebuilds it with its history",
            )
        except BaseException:
            remove_database_file(tmp)
            raise
    return RecordedAlerts(target, True, state_file)
