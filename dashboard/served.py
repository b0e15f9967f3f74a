"""Reading the served warehouse: read-only, short-lived, never in a publisher's way.

The dashboard reads only `<serve_dir>/revops.duckdb` (REVOPS_SERVE_DIR, default
`data/serve`), which `revops.publish` replaces with one `os.replace`. Every page load
opens it read-only, runs its few queries and closes it again, so:

- a publish is never blocked (a read-only DuckDB handle takes only a shared lock on the
  inode it opened, and the publisher writes a new file and renames it over the old one);
- the next page load sees the new file (nothing is held open between loads);
- nothing is ever written: the file is attached `READ_ONLY`.

The file is attached from an in-memory DuckDB rather than opened with
`duckdb.connect(path, read_only=True)`: DuckDB caches database instances by path within
a process, and Streamlit serves every browser session from threads of one process, so
a connection opened by path while another session's is still open would be handed the
instance of the file that was replaced since. An attach always opens the current file.

`file_stamp` identifies the current file (inode, mtime, size): each publish makes a new
file, so a cache keyed on the stamp is never stale.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from revops.paths import DBT_PROJECT_DIR
from revops.publish.served import served_path as _served_path_in
from revops.settings import Settings
from revops.sql import quote_literal as _sql_string

DBT_DOCS_INDEX = DBT_PROJECT_DIR / "target" / "index.html"


class ServedFileError(RuntimeError):
    """The served file exists but cannot be read as a DuckDB warehouse."""


class MissingMartsError(RuntimeError):
    """The served file lacks tables a page needs (nothing published yet, or an older publish)."""

    def __init__(self, missing: Sequence[str]):
        self.missing = list(missing)
        super().__init__(", ".join(self.missing))


def served_path(serve_dir: Path | str | None = None) -> Path:
    """`<serve_dir>/revops.duckdb`, the serve folder from the settings when not given."""
    if serve_dir is None:
        serve_dir = Settings.from_env().serve_dir
    return _served_path_in(Path(serve_dir))


@dataclass(frozen=True)
class FileStamp:
    inode: int
    mtime_ns: int
    size: int


def file_stamp(path: Path) -> FileStamp | None:
    """What identifies the file now at `path`; None when there is none."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return FileStamp(stat.st_ino, stat.st_mtime_ns, stat.st_size)


class ServedWarehouse:
    """One read-only look at the served file, for one page load."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path):
        self._con = con
        self.path = path

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self._con.execute(sql, list(params or [])).df()

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self._con.execute(sql, list(params or [])).fetchall()

    def tables(self) -> set[str]:
        """Every table as `schema.table` (`marts.deal_risk`, `main.publish_log`)."""
        return {
            f"{schema}.{table}"
            for schema, table in self._con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = 'served'"
            ).fetchall()
        }

    def require(self, *tables: str) -> None:
        """Raise MissingMartsError naming the tables (`marts.x` or `main.x`) that are absent."""
        present = self.tables()
        missing = [t for t in tables if t not in present]
        if missing:
            raise MissingMartsError(missing)


@contextlib.contextmanager
def open_served(path: Path | None = None) -> Iterator[ServedWarehouse | None]:
    """The served file attached read-only for the duration of the block; None when absent."""
    path = Path(path) if path is not None else served_path()
    if not path.exists():
        yield None
        return
    con = duckdb.connect(config={"threads": 2})
    try:
        try:
            con.execute(f"attach {_sql_string(str(path))} as served (read_only)")
            con.execute("use served")
        except duckdb.Error as error:
            raise ServedFileError(f"{path} cannot be read: {error}") from error
        yield ServedWarehouse(con, path)
    finally:
        con.close()


def dbt_docs_index() -> Path | None:
    """The generated dbt docs (`make docs`), when they exist."""
    return DBT_DOCS_INDEX if DBT_DOCS_INDEX.exists() else None
