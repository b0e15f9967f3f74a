"""The serving folder's files: the publishers' lock, stale temporary files, old Parquet versions,
and the atomic swap of a prepared file into place.

Retention: a publish keeps, besides the current version and the one before it (a reader that
resolved `current` just before the swap keeps finding its files), the last version of each of
the `days_kept` latest published as_of_dates (REVOPS_SERVED_DAYS_KEPT, default
DEFAULT_SERVED_DAYS_KEPT), so the dashboard can show a past day's marts; every other version
folder is removed, after the publish committed (a failed prune never undoes a publish).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from revops.publish.request import PublishError
from revops.publish.served import CURRENT_LINK, PARQUET_DIR, SERVED_FILE, day_versions

LOCK_FILE = ".publish.lock"


TMP_PREFIX = f".{SERVED_FILE}.tmp-"


PARQUET_TMP_PREFIX = ".tmp-"


PARQUET_KEEP_VERSIONS = 2  # the current one and the one before, for readers mid-read


DEFAULT_SERVED_DAYS_KEPT = 7  # published days whose marts stay readable (REVOPS_SERVED_DAYS_KEPT)


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


def prune_parquet_versions(
    parquet: Path, keep: int = PARQUET_KEEP_VERSIONS, *, also_keep: Iterable[str] = ()
) -> list[Path]:
    """Remove the version folders but the `keep` newest (the current one and the one before, for
    a reader mid-read), the current one, and those named in `also_keep` (the kept days, see
    `days_to_keep`). Returns the folders removed. Call only under `publish_lock`."""
    current = (parquet / CURRENT_LINK).resolve() if (parquet / CURRENT_LINK).is_symlink() else None
    kept_names = set(also_keep)
    versions = sorted(
        (p for p in parquet.iterdir() if p.is_dir() and not p.is_symlink() and p.name.startswith("v-")),
        key=lambda p: p.stat().st_mtime,
    )
    removed = []
    for old in versions[:-keep] if keep else versions:
        if (current is not None and old.resolve() == current) or old.name in kept_names:
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed


def days_to_keep(serve_dir: Path, days_kept: int) -> set[str]:
    """The version folders of the `days_kept` latest published as_of_dates: the last publish of
    each day (an earlier publish of the same day is superseded by it)."""
    if days_kept < 1:
        raise ValueError(f"days_kept={days_kept!r}: expected 1 or more published days to keep")
    return {day.parquet_version for day in day_versions(serve_dir)[:days_kept]}


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_database_file(path: Path) -> None:
    """A DuckDB file that will not be served (a temporary one) and its WAL, if there."""
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)


def swap_in(tmp: Path, target: Path) -> None:
    """Make `tmp` the file at `target` in one step, durably."""
    fsync(tmp)
    os.replace(tmp, target)
    fsync(target.parent)
