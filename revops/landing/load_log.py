"""`<raw_schema>._load_log`: one row per object (file size, modification time, fingerprint,
row count, and what the last load did: new, changed, unchanged and deleted rows, skipped
files), which the row-count and freshness checks and the file sensor read; and
`<raw_schema>._load_log_files`: one row per file applied to the raw table since its last
reload, with its content hash, so an unchanged file is skipped and a change file is applied
once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path

import duckdb

from revops.crm_contract import CrmObject
from revops.sql import quote_identifier, scalar

LOAD_LOG_TABLE = "_load_log"
LOAD_LOG_FILES_TABLE = "_load_log_files"
# what the last load of an object did, added to `_load_log` (older warehouses get them on
# their next load)
_COUNT_COLUMNS = {
    "load_mode": "varchar",
    "new_rows": "bigint",
    "changed_rows": "bigint",
    "unchanged_rows": "bigint",
    "deleted_rows": "bigint",
    "older_rows": "bigint",
    "applied_files": "varchar[]",
    "skipped_files": "varchar[]",
}


def content_hash(path: Path, block_bytes: int = 1 << 22) -> str:
    """sha256 of the whole file: what decides that a file did not change (a sampled
    fingerprint would miss an edit in the middle of a file of the same size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(block_bytes):
            digest.update(block)
    return digest.hexdigest()


def file_fingerprint(path: Path, sample_bytes: int = 1 << 20) -> str:
    """A cheap content fingerprint: sha256 of the size and the first and last MiB.
    Equal for a re-export with the same bytes at the ends; not a full-content hash."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        digest.update(f.read(sample_bytes))
        if size > sample_bytes:
            f.seek(max(sample_bytes, size - sample_bytes))
            digest.update(f.read(sample_bytes))
    return digest.hexdigest()


def utc_naive(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def ensure_load_log(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    con.execute(
        f"""
        create table if not exists {schema}.{quote_identifier(LOAD_LOG_TABLE)} (
            "object" varchar primary key,
            source_file varchar not null,
            source_path varchar not null,
            file_size_bytes bigint not null,
            file_modified_at timestamp not null,
            file_fingerprint varchar not null,
            row_count bigint not null,
            extra_columns varchar[],
            loaded_at timestamp not null,
            load_seconds double,
            previous_row_count bigint,
            previous_loaded_at timestamp
        )
        """
    )
    table = f"{schema}.{quote_identifier(LOAD_LOG_TABLE)}"
    for column, type_name in _COUNT_COLUMNS.items():
        con.execute(f"alter table {table} add column if not exists {column} {type_name}")
    con.execute(
        f"""
        create table if not exists {schema}.{quote_identifier(LOAD_LOG_FILES_TABLE)} (
            "object" varchar not null,
            source_file varchar not null,
            file_kind varchar not null,
            content_hash varchar not null,
            file_size_bytes bigint not null,
            row_count bigint not null,
            new_rows bigint,
            changed_rows bigint,
            unchanged_rows bigint,
            deleted_rows bigint,
            older_rows bigint,
            loaded_at timestamp not null
        )
        """
    )


def applied_files(con: duckdb.DuckDBPyConnection, schema: str, object_name: str) -> dict[str, str]:
    """{file name: content hash} of the files applied to `object_name`'s raw table since
    its last reload (none before the first load)."""
    exists = scalar(
        con,
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema.strip('"'), LOAD_LOG_FILES_TABLE],
    )
    if not exists:
        return {}
    rows = con.execute(
        f"select source_file, content_hash from {schema}.{quote_identifier(LOAD_LOG_FILES_TABLE)} "
        'where "object" = ? order by loaded_at, source_file',
        [object_name],
    ).fetchall()
    return dict(rows)


def record_applied_file(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    object_name: str,
    path: Path,
    kind: str,
    digest: str,
    row_count: int,
    counts: Mapping[str, int | None],
    loaded_at: dt.datetime,
    *,
    reset: bool = False,
) -> None:
    """Record that `path` was applied; `reset` (a reload) forgets the object's earlier files."""
    table = f"{schema}.{quote_identifier(LOAD_LOG_FILES_TABLE)}"
    if reset:
        con.execute(f'delete from {table} where "object" = ?', [object_name])
    con.execute(f'delete from {table} where "object" = ? and source_file = ?', [object_name, path.name])
    con.execute(
        f"insert into {table} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            object_name,
            path.name,
            kind,
            digest,
            path.stat().st_size,
            row_count,
            counts.get("new_rows"),
            counts.get("changed_rows"),
            counts.get("unchanged_rows"),
            counts.get("deleted_rows"),
            counts.get("older_rows"),
            loaded_at,
        ],
    )


def record_load_counts(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    object_name: str,
    mode: str,
    counts: Mapping[str, int | None],
    applied: list[str],
    skipped: list[str],
) -> None:
    """What this load of `object_name` did, on its `_load_log` row (written by upsert_load_log)."""
    con.execute(
        f"update {schema}.{quote_identifier(LOAD_LOG_TABLE)} set load_mode = ?, new_rows = ?, "
        "changed_rows = ?, unchanged_rows = ?, deleted_rows = ?, older_rows = ?, applied_files = ?, "
        'skipped_files = ? where "object" = ?',
        [
            mode,
            counts.get("new_rows"),
            counts.get("changed_rows"),
            counts.get("unchanged_rows"),
            counts.get("deleted_rows"),
            counts.get("older_rows"),
            applied,
            skipped,
            object_name,
        ],
    )


def upsert_load_log(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    crm: CrmObject,
    path: Path,
    row_count: int,
    extras: list[str],
    loaded_at: dt.datetime,
    seconds: float,
) -> None:
    """One row per object, the latest load. `previous_*` describe the latest earlier
    load of a *different* file, so re-running the same file keeps the comparison the
    row-count-collapse check needs."""
    stat = path.stat()
    modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(tzinfo=None)
    con.execute(
        f"""
        insert into {schema}.{quote_identifier(LOAD_LOG_TABLE)} as log ("object", source_file,
            source_path, file_size_bytes, file_modified_at, file_fingerprint, row_count, extra_columns,
            loaded_at, load_seconds, previous_row_count, previous_loaded_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, null)
        on conflict ("object") do update set
            previous_row_count = case when log.file_fingerprint = excluded.file_fingerprint
                then log.previous_row_count else log.row_count end,
            previous_loaded_at = case when log.file_fingerprint = excluded.file_fingerprint
                then log.previous_loaded_at else log.loaded_at end,
            source_file = excluded.source_file,
            source_path = excluded.source_path,
            file_size_bytes = excluded.file_size_bytes,
            file_modified_at = excluded.file_modified_at,
            file_fingerprint = excluded.file_fingerprint,
            row_count = excluded.row_count,
            extra_columns = excluded.extra_columns,
            loaded_at = excluded.loaded_at,
            load_seconds = excluded.load_seconds
        """,
        [
            crm.name,
            path.name,
            str(path.resolve()),
            stat.st_size,
            modified,
            file_fingerprint(path),
            row_count,
            extras,
            loaded_at,
            seconds,
        ],
    )


def latest_load_time(con: duckdb.DuckDBPyConnection, raw_schema: str = "raw") -> dt.datetime | None:
    """When the latest load of any object ran (`_load_log.loaded_at`, UTC): the `_loaded_at`
    of every raw row that load inserted or changed. None without a load log (a warehouse
    never loaded from landing files)."""
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [raw_schema, LOAD_LOG_TABLE],
    ).fetchone()
    if not found or not found[0]:
        return None
    value = scalar(con, f"select max(loaded_at) from {quote_identifier(raw_schema)}.{LOAD_LOG_TABLE}")
    return value if isinstance(value, dt.datetime) else None
