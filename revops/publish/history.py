"""The served file's history (`main.publish_log`, `main.alerts`): created, carried forward from
the previous served file or taken from the state file, and described for people.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from revops import state
from revops.publish.served import (
    ALERTS_COLUMNS,
    PARQUET_DIR,
    PUBLISH_LOG_COLUMNS,
    read_publish_log,
    served_path,
)
from revops.sql import quote_identifier, quote_literal, scalar


def create_log_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table, columns in (("publish_log", PUBLISH_LOG_COLUMNS), ("alerts", ALERTS_COLUMNS)):
        ddl = ", ".join(f"{quote_identifier(c)} {t}" for c, t in columns.items())
        con.execute(f"create table if not exists main.{table} ({ddl})")


def copy_history(con: duckdb.DuckDBPyConnection, source_alias: str) -> None:
    """Copy publish_log and alerts from an attached database (the columns both know)."""
    for table, columns in (("publish_log", PUBLISH_LOG_COLUMNS), ("alerts", ALERTS_COLUMNS)):
        if not has_table_in(con, source_alias, "main", table):
            continue
        old = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_catalog = ? and table_schema = 'main' and table_name = ?",
                [source_alias, table],
            ).fetchall()
        }
        shared = ", ".join(quote_identifier(c) for c in columns if c in old)
        con.execute(f"insert into main.{table} ({shared}) select {shared} from {source_alias}.main.{table}")


def has_table_in(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> bool:
    return bool(
        scalar(
            con,
            "select count(*) from information_schema.tables "
            "where table_catalog = ? and table_schema = ? and table_name = ?",
            [catalog, schema, table],
        )
    )


def attach_history(con: duckdb.DuckDBPyConnection, serve_dir: Path, state_file: Path | None) -> str | None:
    """Attach where the history comes from; returns its alias (None: there is none)."""
    if state_file is not None:
        with state.open_state(state_file, serve_dir=serve_dir):
            pass  # created (and a served file's history imported) when it did not exist
        con.execute(f"attach {quote_literal(str(state_file))} as history (read_only)")
        return "history"
    previous = served_path(serve_dir)
    if previous.exists():
        con.execute(f"attach {quote_literal(str(previous))} as history (read_only)")
        return "history"
    return None


def describe_served(serve_dir: Path, state_file: Path | None = None) -> str:
    """What BI reads now, in words, from the state file (or the served file)."""
    serve_dir = Path(serve_dir)
    try:
        if state_file is not None:
            last = state.last_publish(state_file, serve_dir=serve_dir)
        else:
            log = read_publish_log(serve_dir, limit=1)
            last = log[0] if log else None
    except Exception as error:
        return f"what is served could not be read ({type(error).__name__}: {error})"
    if last is None:
        return f"nothing has been published to {served_path(serve_dir)} yet"
    return (
        f"BI reads publish {last['publish_id']} (as_of_date {last['as_of_date']}, published "
        f"{last['published_at']:%Y-%m-%d %H:%M:%S} UTC) in {served_path(serve_dir)} and "
        f"{serve_dir / PARQUET_DIR / str(last['parquet_version'])}"
    )
