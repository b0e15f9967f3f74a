"""`<raw_schema>._load_log`: one row per object (file size, modification time, fingerprint,
row count), which the row-count and freshness checks and the file sensor read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from revops.crm_contract import CrmObject
from revops.sql import quote_identifier

LOAD_LOG_TABLE = "_load_log"


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
        insert into {schema}.{quote_identifier(LOAD_LOG_TABLE)} as log
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
