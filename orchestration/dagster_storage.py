"""Dagster's SQLite instance storage, with an event log that keeps its SQLite connections.

Dagster's `SqliteEventLogStorage` creates a SQLAlchemy engine without a pool, opens a
connection, writes, commits and disposes of the engine for every write: a build emits
~1,400 events (a materialization per model, an evaluation per check, planned and done) and
each asset event writes two shards several times. Profiled on the 300-deal demo, storing
events took 67 s of a 132 s run (7,236 connections). This storage keeps an engine and its
connection pool per shard: ~2 ms per event instead of 8–13 ms (300 events, same machine,
back to back). What is written and where is Dagster's own: the same files, schema and
write-ahead log (WAL); the UI and the daemon read them as before.

One setting differs: `synchronous=NORMAL` instead of SQLite's FULL on these connections.
In WAL mode a commit then no longer waits for the disk (it does at each checkpoint): 3.9 ms
per commit → 0.06 ms on this machine's disk, and a build commits ~3,600 times (~14 s). The
database cannot be corrupted by it (SQLite's guarantee for WAL + NORMAL); what an OS crash
or power cut can lose is the last events before it, i.e. the tail of a run's event log,
never the warehouse or the published marts (DuckDB's own files and the publish journal).

`dagster.yaml` selects it (`storage: custom:`).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine


class KeptEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that keeps an engine, with its pool of connections, for the
    shards (files) used last, instead of creating and disposing of one per write.

    SQLAlchemy's default pool for a SQLite file (a QueuePool; the pysqlite dialect lets a
    connection move between threads, one thread at a time) hands the same connection back
    to each write. At most `KEEP_SHARDS` run shards keep theirs (a long-running Dagster UI
    reads many runs), plus the index shard; files Dagster deletes are let go first."""

    KEEP_SHARDS = 8

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any):  # type: ignore[override]
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            event.listen(engine, "checkout", _commit_without_waiting_for_the_disk)
            self._engines[shard] = engine
        self._engines.move_to_end(shard)
        runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
        for name in runs[: max(0, len(runs) - self.KEEP_SHARDS)]:
            self._engines.pop(name).dispose()
        return engine

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _dispose_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._dispose_engines()  # before Dagster deletes the run files under open connections
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()


def _commit_without_waiting_for_the_disk(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """`synchronous=NORMAL` on a pooled connection once its file is in WAL mode (Dagster
    switches a new shard to WAL after its first connection opened it); a file in another
    journal mode keeps SQLite's default (NORMAL is safe only with WAL)."""
    if record.info.get("synchronous_normal"):
        return
    cursor = dbapi_connection.cursor()
    try:
        (mode,) = cursor.execute("pragma journal_mode").fetchone()
        if str(mode).lower() == "wal":
            cursor.execute("pragma synchronous = normal")
            record.info["synchronous_normal"] = True
    finally:
        cursor.close()


class RevOpsSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (`storage: sqlite:`) with `KeptEngineSqliteEventLogStorage`."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = KeptEngineSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any):  # type: ignore[override]
        return cls.from_local(inst_data=inst_data, **config_value)

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return ConfigurableClassData(
            __name__,
            KeptEngineSqliteEventLogStorage.__name__,
            yaml.dump({"base_dir": _event_logs_directory(self.base_dir)}, default_flow_style=False),
        )
