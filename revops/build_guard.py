"""What every build does before it touches the working warehouse.

`guarded_build(settings, entry_point)`: take the build lock (`revops.run_lock`), then
make sure the working warehouse can be opened. A refused or impossible build raises
one exception whose message is the whole story, and raises at most one alert:

- another build holds the lock: `BuildLockedError`, one sentence; one webhook post
  (when a webhook is set), nothing recorded in the alerts (the data is not at fault);
- the working warehouse is corrupt (truncated, not a DuckDB file): `WarehouseCorruptError`
  with the recovery (`revops run --rebuild-warehouse`, or delete it and
  `revops run --full-refresh`); one alert, recorded in the state file and the served file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from revops.run_lock import BuildLockedError, build_lock

if TYPE_CHECKING:
    from revops.settings import Settings

__all__ = ["BuildLockedError", "WarehouseCorruptError", "check_warehouse", "guarded_build", "move_aside"]


class WarehouseCorruptError(RuntimeError):
    """The working warehouse cannot be opened; the message says how to rebuild it."""


def _is_lock_conflict(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def check_warehouse(warehouse_path: Path) -> None:
    """Raise WarehouseCorruptError when the working warehouse exists but cannot be read."""
    path = Path(warehouse_path)
    if not path.exists():
        return  # a first build creates it
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            con.execute("select count(*) from information_schema.tables").fetchone()
        finally:
            con.close()
    except duckdb.Error as error:
        if _is_lock_conflict(error):
            raise WarehouseCorruptError(
                f"the working warehouse {path} is open in another program ({error}); close it and run again"
            ) from None
        raise WarehouseCorruptError(
            f"the working warehouse {path} cannot be opened ({error}). It holds nothing that the landing "
            "files do not: rebuild it with `revops run --rebuild-warehouse` (it moves the file aside and builds "
            f"from the landing files), or delete {path.name} (and {path.name}.wal) and run "
            "`revops run --full-refresh`. The served marts, the publish history and the alerts are not in it "
            "and are kept."
        ) from None


def move_aside(warehouse_path: Path) -> Path | None:
    """Move a (corrupt) working warehouse and its WAL aside; returns where it went."""
    path = Path(warehouse_path)
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.corrupt-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}")
    path.rename(aside)
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        wal.rename(aside.with_name(aside.name + ".wal"))
    return aside


def _post_once(headline: str, text: str, url: str) -> None:
    from revops.alerting import post_to_webhook, slack_payload

    if url:
        post_to_webhook(slack_payload(headline, [text]), url)


def _record_corrupt_alert(settings: Settings, message: str, run_id: str | None) -> None:
    from revops.publish import record_alerts
    from revops.state import state_path_for

    record_alerts(
        settings.serve_dir,
        [
            {
                "alert_id": uuid.uuid4().hex,
                "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                "run_id": run_id,
                "as_of_date": settings.resolved_as_of_date(),
                "kind": "gate_failure",
                "severity": "blocking",
                "table_name": None,
                "check_name": "working_warehouse_readable",
                "title": "RevOps build stopped: the working warehouse is corrupt; nothing was published",
                "message": message,
            }
        ],
        state_path=state_path_for(settings.warehouse_path),
    )


@contextlib.contextmanager
def guarded_build(
    settings: Settings, entry_point: str, *, run_id: str | None = None, webhook_url: str | None = None
) -> Iterator[dict]:
    """Hold the build lock of `settings.warehouse_path` for the block, after checking the
    warehouse opens. Raises BuildLockedError or WarehouseCorruptError (one alert each at
    most, see the module docstring). Re-entrant within a process. `webhook_url`: where
    those alerts go (default: the settings' webhook)."""
    url = settings.alert_webhook_url if webhook_url is None else webhook_url
    try:
        lock = build_lock(settings.warehouse_path, entry_point, run_id=run_id)
        holder = lock.__enter__()
    except BuildLockedError as error:
        with contextlib.suppress(Exception):
            _post_once("⏳ RevOps build refused", str(error), url)
        raise
    try:
        try:
            check_warehouse(settings.warehouse_path)
        except WarehouseCorruptError as error:
            try:
                _record_corrupt_alert(settings, str(error), run_id)
                _post_once("🚨 RevOps build stopped: the working warehouse is corrupt", str(error), url)
            except Exception:
                pass
            raise
        yield holder
    except BaseException as error:
        if not lock.__exit__(type(error), error, error.__traceback__):
            raise
    else:
        lock.__exit__(None, None, None)
