"""One build at a time on a working warehouse, whoever starts it.

Every entry point that reads or writes the working warehouse (`revops run`, `revops
backfill`, the Dagster job however it was launched) takes `build_lock(warehouse)` first:
an exclusive `flock` on `<warehouse>.lock` (e.g. `data/warehouse/build.duckdb.lock`).
The file holds a small JSON of who holds it (pid, host, entry point, started_at, run
id), so a second build is refused at once with one sentence naming the holder.

- The kernel drops an flock when its process dies, even on `kill -9`: a crashed build
  never leaves the warehouse locked, and a lock file left behind is not an error (its
  JSON is only read when its lock is actually held).
- Re-entrant within a process: `revops run` takes the lock, then runs the Dagster job in
  the same process, whose resource takes it again; the inner take is a no-op.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

LOCK_SUFFIX = ".lock"


class BuildLockedError(RuntimeError):
    """Another build holds the working warehouse; its message is one sentence."""

    def __init__(self, message: str, holder: dict):
        super().__init__(message)
        self.holder = holder


@dataclass
class _Held:
    handle: IO[str]
    depth: int
    holder: dict


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def lock_path(warehouse_path: Path) -> Path:
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(warehouse_path.name + LOCK_SUFFIX)


def _key(warehouse_path: Path) -> str:
    return str(Path(warehouse_path).resolve())


def read_holder(warehouse_path: Path) -> dict:
    """What the lock file says about its holder ({} when empty or unreadable)."""
    try:
        return json.loads(lock_path(warehouse_path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def refusal_sentence(warehouse_path: Path, holder: dict) -> str:
    """The one sentence a refused build prints."""
    who = holder.get("entry_point") or "an unknown entry point"
    pid = holder.get("pid")
    started = holder.get("started_at")
    host = holder.get("host")
    parts = [who]
    if pid:
        parts.append(f"pid {pid}" + (f" on {host}" if host and host != socket.gethostname() else ""))
    if started:
        parts.append(f"started {started}")
    return f"another build ({', '.join(parts)}) holds {warehouse_path}; try again when it finishes"


def holds_lock(warehouse_path: Path) -> bool:
    """Whether this process holds the build lock of `warehouse_path`."""
    with _guard:
        return _key(warehouse_path) in _held


@contextlib.contextmanager
def build_lock(warehouse_path: Path, entry_point: str, run_id: str | None = None) -> Iterator[dict]:
    """Hold the exclusive build lock of `warehouse_path`, or raise BuildLockedError at once.

    Yields the holder record written to the lock file."""
    key = _key(warehouse_path)
    with _guard:
        held = _held.get(key)
        if held is not None:
            held.depth += 1
            if run_id and not held.holder.get("run_id"):
                held.holder["run_id"] = run_id
                _write_holder(held.handle, held.holder)
    if held is not None:
        try:
            yield held.holder
        finally:
            with _guard:
                held.depth -= 1
        return

    path = lock_path(warehouse_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open by the lock, closed below
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(warehouse_path)
            for _ in range(10):  # the holder may be between its flock and writing its JSON
                if holder:
                    break
                time.sleep(0.1)
                holder = read_holder(warehouse_path)
            raise BuildLockedError(refusal_sentence(Path(warehouse_path), holder), holder) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "entry_point": entry_point,
            "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "run_id": run_id,
        }
        _write_holder(handle, holder)
        with _guard:
            _held[key] = _Held(handle, 1, holder)
        try:
            yield holder
        finally:
            with _guard:
                _held.pop(key, None)
            # the holder JSON stays: it is read only while its lock is held by someone
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _write_holder(handle: IO[str], holder: dict) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(holder, sort_keys=True))
    handle.flush()
    os.fsync(handle.fileno())
