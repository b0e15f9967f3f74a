"""The build's own state, kept beside the working warehouse: publish history, alerts, baselines.

`<warehouse>.state.duckdb` (e.g. `data/warehouse/build.state.duckdb`) holds

    publish_log     every publish (the columns of `revops.publish.PUBLISH_LOG_COLUMNS`)
    alerts          every alert (`ALERTS_COLUMNS`)
    raw_baselines   the raw row counts of each good (published) load, per source

It is the truth; the served file's `main.publish_log` and `main.alerts` are copies made
at each publish (and when alerts are recorded), so BI reads them where it always did,
while a served file that is deleted, corrupt or held open read-write by a BI tool
loses nothing and never blocks a build: the build never opens the served file for
anything but reading a copy of it.

Why a file of its own rather than a schema of the working warehouse: the working
warehouse is disposable (a corrupt one is deleted and rebuilt from the landing files,
`revops run --rebuild-warehouse`), dbt's --full-refresh rewrites it, and failure hooks
must record alerts when it is the very thing that broke.

A state file that does not exist yet is created from the served file's history, when
there is one (an installation from before this file existed): its publish log and
alerts are imported, and the raw counts of its publishes become the baseline of
whatever source runs next (`source_key` NULL: adopted by the first source that has
none of its own).

Connections are short: each call opens the file, does its work and closes it, retrying
for a while when another process has it open (DuckDB allows one writer process).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from revops.sql import quote_identifier, scalar

STATE_SUFFIX = ".state.duckdb"
DEFAULT_BASELINE_LOADS = 5  # the row-count baseline: the max over the last 5 good loads
OPEN_TIMEOUT_SECONDS = 60

BASELINE_COLUMNS = {
    "source_key": "VARCHAR",  # NULL: imported from a served file, adopted by the next source
    "table_name": "VARCHAR",
    "row_count": "BIGINT",
    "publish_id": "VARCHAR",
    "recorded_at": "TIMESTAMP",
}


class StateError(RuntimeError):
    """The state file cannot be read or written; the message says why and what to do."""


def state_path_for(warehouse_path: Path) -> Path:
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(warehouse_path.stem + STATE_SUFFIX)


def _log_columns() -> dict[str, dict[str, str]]:
    from revops.publish.served import ALERTS_COLUMNS, PUBLISH_LOG_COLUMNS

    return {"publish_log": PUBLISH_LOG_COLUMNS, "alerts": ALERTS_COLUMNS, "raw_baselines": BASELINE_COLUMNS}


def _is_lock_conflict(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


@contextlib.contextmanager
def open_state(
    path: Path, *, serve_dir: Path | None = None, timeout_seconds: float = OPEN_TIMEOUT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The state file, read-write, created (and its history imported from `serve_dir`'s
    served file) when it does not exist yet."""
    path = Path(path)
    is_new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.Error as error:
            if _is_lock_conflict(error) and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise StateError(
                f"the state file {path} cannot be opened ({error}). It holds the publish history, "
                "the alerts and the row-count baselines; move it aside and the next run starts a new one "
                "from the served file's history"
            ) from None
    try:
        _create_tables(con)
        if is_new and serve_dir is not None:
            _import_served_history(con, Path(serve_dir))
        yield con
    finally:
        con.close()


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table, columns in _log_columns().items():
        ddl = ", ".join(f"{quote_identifier(c)} {t}" for c, t in columns.items())
        con.execute(f"create table if not exists main.{table} ({ddl})")
        existing = {r[0] for r in con.execute(f"describe main.{table}").fetchall()}
        for column, type_ in columns.items():
            if column not in existing:  # a state file written by an older version
                con.execute(f"alter table main.{table} add column {quote_identifier(column)} {type_}")


def _import_served_history(con: duckdb.DuckDBPyConnection, serve_dir: Path) -> None:
    """Adopt the history of a served file written before the state file existed."""
    from revops.publish.served import served_path

    served = served_path(serve_dir)
    if not served.exists():
        return
    try:
        con.execute(f"attach '{str(served).replace(chr(39), chr(39) * 2)}' as served_history (read_only)")
    except duckdb.Error as error:
        if _is_lock_conflict(error):
            raise StateError(
                f"the served file {served} is held open read-write by another program ({error}), so its "
                f"publish history cannot be imported into the new state file; close that program and run again"
            ) from None
        return  # a corrupt served file: there is no history to import; the next publish rewrites it
    try:
        for table, columns in _log_columns().items():
            if table == "raw_baselines":
                continue
            old = {
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_catalog = 'served_history' "
                    "and table_schema = 'main' and table_name = ?",
                    [table],
                ).fetchall()
            }
            shared = ", ".join(quote_identifier(c) for c in columns if c in old)
            if shared:
                con.execute(
                    f"insert into main.{table} ({shared}) select {shared} from served_history.main.{table}"
                )
        for publish_id, published_at, counts in con.execute(
            "select publish_id, published_at, raw_row_counts from main.publish_log where raw_row_counts is not null"
        ).fetchall():
            for table, rows in json.loads(counts or "{}").items():
                con.execute(
                    "insert into main.raw_baselines values (null, ?, ?, ?, ?)",
                    [table, int(rows), publish_id, published_at],
                )
    finally:
        con.execute("detach served_history")


# --------------------------------------------------------------------------- reading


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    relation = con.execute(sql, list(params))
    columns = [d[0] for d in relation.description]
    return [dict(zip(columns, row, strict=False)) for row in relation.fetchall()]


def read_publish_log(path: Path, *, serve_dir: Path | None = None, limit: int = 5) -> list[dict[str, Any]]:
    """The last publishes, newest first."""
    with open_state(path, serve_dir=serve_dir) as con:
        return _rows(con, f"select * from main.publish_log order by published_at desc limit {int(limit)}")


def last_publish(path: Path, *, serve_dir: Path | None = None) -> dict[str, Any] | None:
    log = read_publish_log(path, serve_dir=serve_dir, limit=1)
    return log[0] if log else None


def read_alerts(
    path: Path, *, serve_dir: Path | None = None, run_id: str | None = None
) -> list[dict[str, Any]]:
    where, params = ("where run_id = ?", [run_id]) if run_id else ("", [])
    with open_state(path, serve_dir=serve_dir) as con:
        return _rows(con, f"select * from main.alerts {where} order by created_at", params)


def last_good_raw_counts(
    path: Path,
    source_key: str,
    *,
    loads: int = DEFAULT_BASELINE_LOADS,
    tables: Iterable[str] = (),
    serve_dir: Path | None = None,
) -> dict[str, int]:
    """The row-count baseline of `source_key`: per raw table, the largest count of its last
    `loads` good (published) loads, so a table bleeding rows a little at every load is
    still compared with what it had before the bleed started.

    A source without good loads of its own adopts imported ones (source_key NULL, see the
    module docstring), or else starts a new baseline: every table in `tables` is 0 ("no
    earlier good load"), so it is never compared with another source's counts."""
    with open_state(path, serve_dir=serve_dir) as con:
        has_own = scalar(con, "select count(*) from main.raw_baselines where source_key = ?", [source_key])
        key_filter = "source_key = ?" if has_own else "source_key is null"
        params = [source_key] if has_own else []
        rows = con.execute(
            f"""
            with ranked as (
                select table_name, row_count,
                    row_number() over (partition by table_name order by recorded_at desc) as load_number
                from main.raw_baselines
                where {key_filter}
            )
            select table_name, max(row_count) from ranked where load_number <= ? group by table_name
            """,
            [*params, max(int(loads), 1)],
        ).fetchall()
    counts = dict.fromkeys(tables, 0)
    counts.update({table: int(rows) for table, rows in rows})
    return counts


def reset_baseline(path: Path, source_key: str | None = None, *, serve_dir: Path | None = None) -> int:
    """Forget the row-count baseline of `source_key` (None: of every source). Returns the
    number of load records removed; the next good load starts a new baseline."""
    with open_state(path, serve_dir=serve_dir) as con:
        if source_key is None:
            removed = scalar(con, "select count(*) from main.raw_baselines")
            con.execute("delete from main.raw_baselines")
        else:
            removed = scalar(
                con,
                "select count(*) from main.raw_baselines where source_key = ? or source_key is null",
                [source_key],
            )
            con.execute(
                "delete from main.raw_baselines where source_key = ? or source_key is null", [source_key]
            )
    return int(removed)


# --------------------------------------------------------------------------- writing


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    columns = _log_columns()[table]
    names = list(columns)
    sql = (
        f"insert into main.{table} ({', '.join(quote_identifier(c) for c in names)}) "
        f"values ({', '.join('?' for _ in names)})"
    )
    for row in rows:
        con.execute(sql, [_db_value(row.get(c)) for c in names])


def _db_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, sort_keys=True)
    return value


def append_alerts(path: Path, alerts: Sequence[Mapping[str, Any]], *, serve_dir: Path | None = None) -> None:
    with open_state(path, serve_dir=serve_dir) as con:
        insert_rows(con, "alerts", alerts)


def has_publish(path: Path, publish_id: str) -> bool:
    with open_state(path) as con:
        return bool(scalar(con, "select count(*) from main.publish_log where publish_id = ?", [publish_id]))


def baseline_rows(log_row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A publish's raw row counts (its log row's `raw_row_counts`, a mapping or its JSON) as the
    gate's row-count baselines of its source."""
    counts = log_row["raw_row_counts"]
    counts = json.loads(counts) if isinstance(counts, str) else counts
    return [
        {
            "source_key": log_row["source_key"],
            "table_name": table,
            "row_count": int(rows),
            "publish_id": log_row["publish_id"],
            "recorded_at": log_row["published_at"],
        }
        for table, rows in (counts or {}).items()
    ]


def commit_publish(
    path: Path,
    log_row: Mapping[str, Any],
    alerts: Iterable[Mapping[str, Any]],
    *,
    serve_dir: Path | None = None,
) -> None:
    """A publish recorded in one transaction: its log row, its alerts and, when it names its
    source, its raw row counts as that source's baselines."""
    with open_state(path, serve_dir=serve_dir) as con:
        con.execute("begin transaction")
        try:
            insert_rows(con, "publish_log", [log_row])
            insert_rows(con, "alerts", alerts)
            if log_row.get("source_key") is not None:
                insert_rows(con, "raw_baselines", baseline_rows(log_row))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def record_missing_publishes(path: Path, log: Sequence[Mapping[str, Any]]) -> None:
    """Publishes a warehouse's own publish log holds (PostgreSQL, Spark: the truth for what
    BI reads there) that the state file missed (its commit failed after the publish):
    recorded there now, with their raw counts as baselines."""
    with open_state(path) as con:
        recorded = {
            publish_id for (publish_id,) in con.execute("select publish_id from main.publish_log").fetchall()
        }
        missing = [row for row in log if row["publish_id"] not in recorded]
        if not missing:
            return
        insert_rows(con, "publish_log", missing)
        insert_rows(
            con, "raw_baselines", [b for row in missing if row["source_key"] for b in baseline_rows(row)]
        )


def alerts_to_record(alerts: Sequence[Mapping[str, Any]], known: set[Any], state_path: Path | None) -> list:
    """The alerts a served history has not recorded yet: the publish's own, then a failed run's
    that only the state file holds (its failure hook could not reach the warehouse)."""
    new = [a for a in alerts if a.get("alert_id") not in known]
    if state_path is not None:
        seen = known | {a.get("alert_id") for a in new}
        new += [a for a in read_alerts(state_path) if a.get("alert_id") not in seen]
    return new
