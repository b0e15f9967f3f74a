"""The next day of a landing folder: one day of CRM changes, the way an export or a sync delivers them.

    python -m revops_demo.increment --landing data/landing [--day 2026-11-24] [--mode full|changes]

Given a folder the demo generator wrote (CSV, `.csv.gz` or Parquet; snake_case or CamelCase
headers), it writes day D's changes (D defaults to the day after the newest modification in
the folder):

- new deals (the rate of the folder's own history), each with its first opportunity_history row;
- stage changes of open deals (the next open stage, or closed won / lost; a closed deal's close
  date is D or up to `backdate_days` before it: a backdated close date), each with its history row;
- amount and close-date edits (with their history rows);
- new tasks and events on open deals (the folder's own daily rate);
- deletions: deals flagged `is_deleted` and, in `full` mode, a deal gone from the export with
  its history, tasks and events (a hard delete); one task flagged deleted.

Every changed row has `last_modified_date` (the contract's modification time) moved to D.

Two modes (`revops.landing` reads both, README "Daily increments"):
- `full`: the files that changed are rewritten whole, as a nightly export delivers them;
- `changes`: only the new and changed rows, in `<object>.changes.<D>.<ext>` beside the full
  files (the loader applies them after the full file, in the order of their label); a deletion
  is a row with `is_deleted` true, since a change feed cannot leave a row out.

Deterministic: the same folder, day, mode and seed give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from revops.crm_contract import CRM_OBJECTS
from revops.landing import CHANGES_INFIX, normalize_column_name
from revops.sql import quote_identifier, quote_literal
from revops_demo.seeds import StageMap, read_stage_map

MODES = ("full", "changes")
# the objects a day changes; the others (users, accounts, quotas, growth inputs) stay as they are
CHANGED_OBJECTS = ("opportunity", "opportunity_history", "task", "event")
_SUFFIXES = (".csv.gz", ".csv", ".parquet")
_ID_PREFIX = {"opportunity": "006", "opportunity_history": "008", "task": "00T", "event": "00U"}


@dataclass(frozen=True)
class DailyChanges:
    """How much one day changes; shares are of the deals open at the start of the day.
    `new_deals`, `new_tasks` and `new_events` None: the folder's own daily rate."""

    new_deals: int | None = None
    new_tasks: int | None = None
    new_events: int | None = None
    stage_change_share: float = 0.03
    close_share: float = 0.01
    win_share_of_closes: float = 0.4
    amount_edit_share: float = 0.01
    close_date_edit_share: float = 0.01
    backdate_days: int = 5
    soft_deleted_deals: int = 1
    hard_deleted_deals: int = 1  # full mode only
    deleted_tasks: int = 1


@dataclass
class _Table:
    """One object's current rows as text, with the file's own header names and types.

    `current` set (change files, for the objects that only grow: history, tasks, events): the
    rows stay in DuckDB, `current` is the SQL of the current state (the full file, then each
    change file by id), and `rows` holds only the rows this day adds or changes - what a change
    file is made of. A million deals' 31M activities never become Python lists."""

    name: str
    path: Path  # the full file
    headers: list[str]  # as in the file
    types: list[str]  # DuckDB types of the file's columns (VARCHAR for CSV)
    rows: list[list[str | None]]
    current: str | None = None
    next_number: int | None = None  # the next free number of `_next_ids`, once known

    def __post_init__(self) -> None:
        self.positions = {normalize_column_name(h): i for i, h in enumerate(self.headers)}

    def col(self, column: str) -> int:
        return self.positions[column]


def _split_name(path: Path) -> tuple[str, str] | None:
    lower = path.name.lower()
    for suffix in _SUFFIXES:
        if lower.endswith(suffix):
            return path.name[: -len(suffix)], path.name[-len(suffix) :]
    return None


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _files_of(folder: Path, obj: str) -> tuple[Path | None, list[Path]]:
    """(the full file, the change files in label order) of `obj` in `folder`."""
    full, changes = None, []
    for path in sorted(folder.iterdir()):
        split = _split_name(path)
        if path.name.startswith(".") or split is None:
            continue
        stem, _ = split
        if CHANGES_INFIX in stem.lower():
            base = stem[: stem.lower().index(CHANGES_INFIX)]
            if _squash(base) == _squash(obj):
                changes.append(path)
        elif _squash(stem) == _squash(obj):
            full = path
    return full, sorted(changes, key=lambda p: p.name.lower())


def _reader(path: Path) -> str:
    if path.name.lower().endswith(".parquet"):
        return f"read_parquet({quote_literal(str(path))})"
    return f"read_csv({quote_literal(str(path))}, header = true, all_varchar = true, auto_detect = true)"


def _read(con: duckdb.DuckDBPyConnection, folder: Path, obj: str, *, in_duckdb: bool = False) -> _Table:
    """The object's current state; `in_duckdb`: as SQL (`_Table.current`), not rows."""
    full, changes = _files_of(folder, obj)
    if full is None:
        raise ValueError(f"{folder} has no file for {obj} (expected {obj}.csv, .csv.gz or .parquet)")
    described = con.execute(f"describe select * from {_reader(full)}").fetchall()
    headers, types = [r[0] for r in described], [r[1] for r in described]
    as_text = ", ".join(f"cast({quote_identifier(h)} as varchar) as {quote_identifier(h)}" for h in headers)
    if in_duckdb:
        parts = [
            f"select {as_text}, {n} as _file from {_reader(path)}" for n, path in enumerate([full, *changes])
        ]
        key = quote_identifier(next(h for h in headers if normalize_column_name(h) == "id"))
        current = (
            f"(select * exclude (_file) from ({' union all by name '.join(parts)}) "
            f"qualify row_number() over (partition by {key} order by _file desc) = 1)"
            if changes
            else f"(select {as_text} from {_reader(full)})"
        )
        return _Table(obj, full, headers, types, [], current)
    rows = [list(r) for r in con.execute(f"select {as_text} from {_reader(full)}").fetchall()]
    table = _Table(obj, full, headers, types, rows)
    if changes:  # the current state: the full file, then each change file by id
        position = {row[table.col("id")]: i for i, row in enumerate(rows)}
        for path in changes:
            for row in con.execute(f"select {as_text} from {_reader(path)}").fetchall():
                row = list(row)
                if row[table.col("id")] in position:
                    rows[position[row[table.col("id")]]] = row
                else:
                    position[row[table.col("id")]] = len(rows)
                    rows.append(row)
    return table


def _timestamp_text(moment: dt.datetime, table: _Table) -> str:
    if table.path.name.lower().endswith(".parquet"):
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_moment(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "").replace("T", " ")[:19])


def _next_ids(table: _Table, count: int, con: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """`count` new ids after the largest numbered one (found once per table, then counted on)."""
    prefix = _ID_PREFIX[table.name]
    if table.next_number is None:
        numbers = [
            int(r[table.col("id")][3:])
            for r in table.rows
            if r[table.col("id")][3:].isdigit() and r[table.col("id")]
        ]
        largest = max(numbers, default=0)
        if table.current is not None and con is not None:
            key = quote_identifier(table.headers[table.col("id")])
            stored = con.execute(
                f"select max(try_cast(substr({key}, 4) as bigint)) from {table.current} "
                f"where regexp_full_match(substr({key}, 4), '[0-9]+')"
            ).fetchone()
            largest = max(largest, int(stored[0] or 0) if stored else 0)
        table.next_number = largest + 1
    start = table.next_number
    table.next_number += count
    return [f"{prefix}{n:015d}" for n in range(start, start + count)]


def _daily_rate(table: _Table, column: str, con: duckdb.DuckDBPyConnection | None = None) -> float:
    """Rows per day of `column` over the table's own span."""
    if table.current is not None and con is not None:
        moment = (
            f"try_cast(left(replace(replace({quote_identifier(table.headers[table.col(column)])}, 'Z', ''), "
            "'T', ' '), 19) as timestamp)"
        )
        n, first, last = con.execute(
            f"select count({moment}), min({moment}), max({moment}) from {table.current}"
        ).fetchone() or (0, None, None)
        if not n:
            return 0.0
        return int(n) / max((last - first).days, 1)
    moments = [m for m in (_parse_moment(r[table.col(column)]) for r in table.rows) if m]
    if not moments:
        return 0.0
    span = max((max(moments) - min(moments)).days, 1)
    return len(moments) / span


def _sample(
    con: duckdb.DuckDBPyConnection, table: _Table, where: str, count: int, rng: np.random.Generator
) -> list[list]:
    """Up to `count` rows of the table's current state where `where` holds, picked at random (a
    seeded hash of the id: the same folder, day and seed pick the same rows)."""
    salt = int(rng.integers(0, 2**31))
    key = quote_identifier(table.headers[table.col("id")])
    return [
        list(r)
        for r in con.execute(
            f"select * from {table.current} where {where} order by hash({key}, {salt}), {key} limit {int(count)}"
        ).fetchall()
    ]


def default_day(landing_dir: Path | str) -> dt.date:
    """The day after the newest `last_modified_date` of the folder's deals."""
    with duckdb.connect() as con:
        table = _read(con, Path(landing_dir), "opportunity")
    moments = [m for m in (_parse_moment(r[table.col("last_modified_date")]) for r in table.rows) if m]
    return max(moments).date() + dt.timedelta(days=1)


def write_next_day(
    landing_dir: Path | str,
    day: dt.date | None = None,
    *,
    mode: str = "full",
    seed: int = 42,
    changes: DailyChanges | None = None,
) -> dict[str, int]:
    """Write day `day`'s CRM changes into `landing_dir`; return the rows written per object
    (`full`: the rows of each rewritten file; `changes`: the rows of each change file)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
    folder = Path(landing_dir)
    if not folder.is_dir():
        raise ValueError(f"the landing folder {folder} does not exist")
    day = day or default_day(folder)
    settings = changes or DailyChanges()
    rng = np.random.default_rng([seed, day.toordinal()])
    stages = read_stage_map()
    with duckdb.connect() as con:
        # a change file holds only the day's rows: the objects that only grow stay in DuckDB
        tables = {
            name: _read(con, folder, name, in_duckdb=mode == "changes" and name != "opportunity")
            for name in CHANGED_OBJECTS
        }
        touched = _apply_day(con, tables, day, mode, settings, rng, stages)
        return _write(con, tables, touched, day, mode)


def _moment(day: dt.date, rng: np.random.Generator) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8)) + dt.timedelta(seconds=int(rng.integers(0, 10 * 3600)))


def _apply_day(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, _Table],
    day: dt.date,
    mode: str,
    settings: DailyChanges,
    rng: np.random.Generator,
    stages: StageMap,
) -> dict[str, dict[str, list]]:
    """Change `tables` in place; return, per object, the ids of new or changed rows and the
    ids gone (hard-deleted)."""
    opp, history, task, event = (tables[n] for n in CHANGED_OBJECTS)
    touched: dict[str, dict[str, list]] = {n: {"ids": [], "gone": []} for n in CHANGED_OBJECTS}
    c = {name: opp.col(name) for name in CRM_OBJECTS["opportunity"].columns if name in _normalized(opp)}
    stage_index = {name: i for i, name in enumerate(stages.names)}

    def live(row: list) -> bool:
        return str(row[c["is_deleted"]]).lower() not in ("true", "1")

    open_rows = [r for r in opp.rows if live(r) and str(r[c["is_closed"]]).lower() not in ("true", "1")]
    open_rows.sort(key=lambda r: r[c["id"]])

    def set_stage(row: list, code: int) -> None:
        row[c["stage_name"]] = stages.names[code]
        row[c["probability"]] = _number(round(float(stages.probability[code]) * 100), opp, "probability")
        row[c["forecast_category_name"]] = stages.forecast_category[code]
        row[c["is_closed"]] = _bool(code >= stages.n_open)
        row[c["is_won"]] = _bool(code == stages.won)

    def add_history(row: list, moment: dt.datetime) -> None:
        h = {name: history.col(name) for name in _normalized(history)}
        new = [None] * len(history.headers)
        new[h["id"]] = _next_ids(history, 1, con)[0]
        new[h["opportunity_id"]] = row[c["id"]]
        for column, source in (
            ("stage_name", "stage_name"),
            ("amount", "amount"),
            ("close_date", "close_date"),
        ):
            new[h[column]] = row[c[source]]
        new[h["probability"]] = row[c["probability"]]
        new[h["forecast_category"]] = row[c["forecast_category_name"]]
        new[h["created_date"]] = _timestamp_text(moment, history)
        new[h["is_deleted"]] = _bool(False)
        history.rows.append(new)
        touched["opportunity_history"]["ids"].append(new[h["id"]])

    def modified(row: list, moment: dt.datetime) -> None:
        row[c["last_modified_date"]] = _timestamp_text(moment, opp)
        touched["opportunity"]["ids"].append(row[c["id"]])

    # pick disjoint sets of open deals for each kind of change
    order = list(rng.permutation(len(open_rows)))
    n_open = len(open_rows)

    def take(share: float) -> list[list]:
        count = round(n_open * share)
        picked = [open_rows[i] for i in order[:count]]
        del order[:count]
        return picked

    for row in take(settings.stage_change_share):
        code = stage_index.get(row[c["stage_name"]], 0)
        moment = _moment(day, rng)
        set_stage(row, min(code + 1, stages.n_open - 1))
        modified(row, moment)
        add_history(row, moment)
    for row in take(settings.close_share):
        moment = _moment(day, rng)
        set_stage(row, stages.won if rng.random() < settings.win_share_of_closes else stages.lost)
        back = int(rng.integers(0, settings.backdate_days + 1))
        row[c["close_date"]] = (day - dt.timedelta(days=back)).isoformat()
        modified(row, moment)
        add_history(row, moment)
    for row in take(settings.amount_edit_share):
        moment = _moment(day, rng)
        amount = float(row[c["amount"]] or 0) * float(rng.uniform(0.8, 1.25))
        row[c["amount"]] = _number(round(amount / 100) * 100, opp, "amount")
        modified(row, moment)
        add_history(row, moment)
    for row in take(settings.close_date_edit_share):
        moment = _moment(day, rng)
        close = dt.date.fromisoformat(str(row[c["close_date"]])[:10])
        row[c["close_date"]] = (max(close, day) + dt.timedelta(days=int(rng.integers(7, 31)))).isoformat()
        modified(row, moment)
        add_history(row, moment)
    for row in [open_rows[i] for i in order[: settings.soft_deleted_deals]]:
        row[c["is_deleted"]] = _bool(True)
        modified(row, _moment(day, rng))
    del order[: settings.soft_deleted_deals]
    if mode == "full":
        for row in [open_rows[i] for i in order[: settings.hard_deleted_deals]]:
            _hard_delete(tables, row[c["id"]], touched)
        del order[: settings.hard_deleted_deals]

    # new deals, on existing accounts and owners, at the first stage
    new_deals = settings.new_deals
    if new_deals is None:
        new_deals = max(1, round(_daily_rate(opp, "created_date")))
    templates = [r for r in opp.rows if live(r)]
    for new_id in _next_ids(opp, new_deals):
        template = templates[int(rng.integers(0, len(templates)))]
        row = list(template)
        moment = _moment(day, rng)
        row[c["id"]] = new_id
        row[c["account_id"]] = templates[int(rng.integers(0, len(templates)))][c["account_id"]]
        row[c["created_date"]] = _timestamp_text(moment, opp)
        row[c["close_date"]] = (day + dt.timedelta(days=int(rng.integers(30, 91)))).isoformat()
        row[c["amount"]] = _number(int(rng.integers(50, 600)) * 100, opp, "amount")
        row[c["is_deleted"]] = _bool(False)
        row[c["next_step"]] = "Intro call with the economic buyer"
        row[c["next_step_date_c"]] = (day + dt.timedelta(days=int(rng.integers(1, 8)))).isoformat()
        set_stage(row, 0)
        opp.rows.append(row)
        modified(row, moment)
        add_history(row, moment)
        open_rows.append(row)

    live_open = [r for r in open_rows if live(r) and str(r[c["is_closed"]]).lower() not in ("true", "1")]
    _new_activities(con, task, "task", live_open, c, day, rng, settings.new_tasks, touched)
    _new_activities(con, event, "event", live_open, c, day, rng, settings.new_events, touched)
    t = {name: task.col(name) for name in _normalized(task)}
    if task.current is not None:
        deleted = quote_identifier(task.headers[t["is_deleted"]])
        chosen = _sample(
            con, task, f"lower(coalesce({deleted}, '')) not in ('true', '1')", settings.deleted_tasks, rng
        )
        task.rows += chosen
    else:
        deletable = [r for r in task.rows if str(r[t["is_deleted"]]).lower() not in ("true", "1")]
        picks = rng.choice(len(deletable), size=min(settings.deleted_tasks, len(deletable)), replace=False)
        chosen = [deletable[int(i)] for i in picks]
    for row in chosen:
        row[t["is_deleted"]] = _bool(True)
        touched["task"]["ids"].append(row[t["id"]])
    return touched


def _normalized(table: _Table) -> list[str]:
    return list(table.positions)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _number(value: float, table: _Table, column: str) -> str:
    """A number as the file writes it: CSV integers without a decimal point."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _hard_delete(tables: dict[str, _Table], deal_id: str, touched: dict[str, dict[str, list]]) -> None:
    """The deal gone from the export with everything that hangs on it."""
    for name, column in (
        ("opportunity", "id"),
        ("opportunity_history", "opportunity_id"),
        ("task", "what_id"),
        ("event", "what_id"),
    ):
        table = tables[name]
        i, key = table.col(column), table.col("id")
        touched[name]["gone"] += [r[key] for r in table.rows if r[i] == deal_id]
        table.rows = [r for r in table.rows if r[i] != deal_id]


def _new_activities(
    con: duckdb.DuckDBPyConnection,
    table: _Table,
    name: str,
    deals: list[list],
    c: dict[str, int],
    day: dt.date,
    rng: np.random.Generator,
    count: int | None,
    touched: dict[str, dict[str, list]],
) -> None:
    cols = {n: table.col(n) for n in _normalized(table)}
    if count is None:
        count = max(1, round(_daily_rate(table, "created_date", con)))
    if table.current is not None:  # templates: activities on deals, `count` of them at random
        what_id = quote_identifier(table.headers[cols["what_id"]])
        linked = _sample(con, table, f"{what_id} like '006%'", count, rng)
    else:
        linked = [r for r in table.rows if str(r[cols["what_id"]] or "").startswith("006")]
    if not deals or not linked:
        return
    for number, new_id in enumerate(_next_ids(table, count, con)):
        pick = number % len(linked) if table.current is not None else int(rng.integers(0, len(linked)))
        row = list(linked[pick])
        deal = deals[int(rng.integers(0, len(deals)))]
        moment = _moment(day, rng)
        row[cols["id"]] = new_id
        row[cols["what_id"]] = deal[c["id"]]
        row[cols["owner_id"]] = deal[c["owner_id"]]
        row[cols["created_date"]] = _timestamp_text(moment, table)
        row[cols["is_deleted"]] = _bool(False)
        if name == "task":
            row[cols["activity_date"]] = day.isoformat()
            row[cols["status"]] = "Completed"
            row[cols["is_closed"]] = _bool(True)
            row[cols["completed_date_time"]] = _timestamp_text(moment + dt.timedelta(minutes=20), table)
        else:
            start = dt.datetime.combine(day + dt.timedelta(days=int(rng.integers(1, 8))), dt.time(15))
            row[cols["start_date_time"]] = _timestamp_text(start, table)
            row[cols["end_date_time"]] = _timestamp_text(start + dt.timedelta(minutes=45), table)
        table.rows.append(row)
        touched[name]["ids"].append(new_id)


def _write(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, _Table],
    touched: dict[str, dict[str, list]],
    day: dt.date,
    mode: str,
) -> dict[str, int]:
    written = {}
    for name, table in tables.items():
        ids, gone = set(touched[name]["ids"]), touched[name]["gone"]
        if not ids and not gone:
            continue
        key = table.col("id")
        if mode == "full":
            rows = table.rows
            stem, suffix = _split_name(table.path)
            target = table.path
        else:
            rows = [r for r in table.rows if r[key] in ids]
            stem, suffix = _split_name(table.path)
            target = table.path.with_name(f"{stem}{CHANGES_INFIX}{day.isoformat()}{suffix}")
        _write_file(con, table, rows, target)
        written[name] = len(rows)
    return written


def _write_file(con: duckdb.DuckDBPyConnection, table: _Table, rows: list[list], target: Path) -> None:
    """Rows (text) in the file's own columns and types, written under a temporary name and
    moved into place in one step (a reader never sees half a file)."""
    import pyarrow as pa

    text = pa.table({f"c{i}": pa.array([r[i] for r in rows], pa.string()) for i in range(len(table.headers))})
    con.register("_rows", text)
    columns = ", ".join(
        f"cast(c{i} as {t}) as {quote_identifier(h)}"
        for i, (h, t) in enumerate(zip(table.headers, table.types, strict=True))
    )
    tmp = target.with_name(f".{target.name}.partial")
    is_parquet = target.name.lower().endswith(".parquet")
    options = "format parquet" if is_parquet else "format csv, header true"
    if target.name.lower().endswith(".gz"):
        options += ", compression gzip"
    con.execute(f"copy (select {columns} from _rows) to {quote_literal(str(tmp))} ({options})")
    con.unregister("_rows")
    os.replace(tmp, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m revops_demo.increment",
        description="Write the next day of CRM changes into a demo landing folder.",
    )
    parser.add_argument("--landing", default="data/landing", help="the landing folder (default data/landing)")
    parser.add_argument(
        "--day", help="the day of the changes, YYYY-MM-DD (default: the day after the newest change)"
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="full",
        help="full: rewrite the files that changed; changes: only the changed rows, in <object>.changes.<day>.<ext>",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--days", type=int, default=1, help="how many days, one after the other (default 1)")
    args = parser.parse_args(argv)
    try:
        day = dt.date.fromisoformat(args.day) if args.day else None
    except ValueError:
        parser.error(f"--day must be a date written YYYY-MM-DD (got {args.day!r})")
    try:
        for _ in range(args.days):
            day = day or default_day(args.landing)
            counts = write_next_day(args.landing, day, mode=args.mode, seed=args.seed)
            rows = ", ".join(f"{name} {count:,}" for name, count in counts.items())
            print(f"{day} ({args.mode}) written to {args.landing}: {rows}")
            day = day + dt.timedelta(days=1)
    except ValueError as error:
        print(f"increment: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
