"""Daily increments: three days of CRM changes loaded and built on top of a full build give the
marts a full rebuild of the same final inputs gives (DuckDB), and each kind of change is handled.

One small demo (300 deals) and one sequence for the whole module, five dbt builds in all:
day 0 (the full build), day 1 (full files rewritten: a deal soft-deleted, one gone from the
export with its history, tasks and events), day 2 (change files, with a late-arriving history
row for a day ten days back), day 3 (change files, with a backdated close date, and a deal won
with its win's history row dated six days back, arriving late), then the full rebuild of the
same final inputs (a copy of the warehouse, `full_refresh`: raw reloaded from
every file and the incremental models rebuilt; the dbt snapshot, history no file holds, kept).
The builds leave data tests and unit tests out (`--exclude-resource-type`): they are not what
is tested here, and the other suites run them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from conftest import run_dbt

from bench.compare import INCREMENTAL_INTERMEDIATE, INCREMENTAL_STAGING, compare_marts, compare_staging
from revops.landing import LOAD_LOG_FILES_TABLE, latest_load_time
from revops.sources import SourceConfig, ingest_source
from revops_demo.increment import write_next_day

DAY0 = dt.date(2026, 11, 23)
SCALE = {"reps": 4, "deals": 300, "months": 6, "seed": 11}
LATE_HISTORY_ID = "008LATE00000000001"
LATE_WIN_HISTORY_ID = "008LATEWON00000001"
# the incremental models whose daily build takes only what raw changed (its compiled SQL
# filters on `_loaded_at`)
INCREMENTAL_MODELS = (*INCREMENTAL_STAGING, *INCREMENTAL_INTERMEDIATE)
BUILD_ONLY_MODELS = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]


@dataclass
class Sequence:
    landing: Path
    daily: Path  # the warehouse after the three days
    rebuilt: Path  # a copy of it, rebuilt from the same final inputs
    lines: dict[int, list[str]] = field(default_factory=dict)  # the ingestion's lines per day
    load_log: dict[int, dict[str, dict]] = field(default_factory=dict)  # _load_log rows per day
    soft: str = ""
    hard: str = ""
    late: str = ""
    backdated: str = ""
    backdated_close: dt.date | None = None
    won_late: str = ""  # won on day 3, its win's history row dated six days back
    won_late_recorded: dt.date | None = None
    # per build: the incremental models whose run took only the changed raw rows
    changed_only: dict[int, set[str]] = field(default_factory=dict)
    target: Path | None = None


def _ingest(
    warehouse: Path, landing: Path, *, full_refresh: bool = False
) -> tuple[list[str], dict[str, dict]]:
    lines: list[str] = []
    with duckdb.connect(str(warehouse)) as con:
        ingest_source(
            con,
            SourceConfig(kind="salesforce_files", landing_dir=landing),
            progress=lines.append,
            full_refresh=full_refresh,
        )
        result = con.execute("select * from raw._load_log")
        columns = [c[0] for c in result.description]
        log = {row[0]: dict(zip(columns, row, strict=True)) for row in result.fetchall()}
    return lines, log


def _build(warehouse: Path, target: Path, day: dt.date, *extra: str) -> set[str]:
    """Build every model for `day`; the incremental models that took only the raw rows
    changed since the last build (their compiled SQL filters on the changed ids)."""
    run_dbt(
        ["build", *BUILD_ONLY_MODELS, *extra],
        warehouse_path=warehouse,
        target_path=target,
        dbt_vars={"as_of_date": day.isoformat()},
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".")[-1]
        for r in results
        if r["unique_id"].split(".")[-1] in INCREMENTAL_MODELS
        and "_loaded_at >" in (r["compiled_code"] or "")
    }


def _open_deals(warehouse: Path, day: dt.date) -> list[str]:
    """Deals open on `day` and for more than 20 days before it, fewest recent history rows first."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [
            r[0]
            for r in con.execute(
                """
                select s.opportunity_id
                from marts.fct_deal_snapshots as s
                left join staging.stg_salesforce__opportunity_history as h
                    on h.opportunity_id = s.opportunity_id and h.created_date >= ? - 10
                group by 1
                having max(s.snapshot_date) = ? and min(s.snapshot_date) < ? - 20
                order by count(h.opportunity_id), 1
                """,
                [day, day, day],
            ).fetchall()
        ]


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])


def _change_deal(landing: Path, day: dt.date, deal: str, change) -> None:
    """Add (or replace) `deal`'s row in the day's opportunity change file, changed by `change`."""
    change_file = landing / f"opportunity.changes.{day}.csv"
    header, full_rows = _rows(landing / "opportunity.csv")
    _, changed = _rows(change_file) if change_file.exists() else (header, [])
    current = next((r for r in changed if r[0] == deal), None) or next(r for r in full_rows if r[0] == deal)
    row = change(header, list(current))
    row[header.index("last_modified_date")] = f"{day}T09:00:00Z"
    _write_rows(change_file, header, [r for r in changed if r[0] != deal] + [row])


# builds the warehouse (or its copy on another engine) for a day: (warehouse, dbt target
# folder, day, full_refresh) -> the incremental models that took only changed rows
Build = Callable[[Path, Path, dt.date, bool], set[str]]


def duckdb_build(warehouse: Path, target: Path, day: dt.date, full_refresh: bool) -> set[str]:
    return _build(warehouse, target, day, *(["--full-refresh"] if full_refresh else []))


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Sequence:
    return build_sequence(tmp_path_factory.mktemp("daily_increments"), duckdb_build)


def build_sequence(root: Path, build: Build) -> Sequence:
    """The four days and the rebuild (module docstring), each built by `build`; the deals of
    the hand-made cases are picked from the DuckDB marts of day 0 (`build` must leave them)."""
    from revops_demo import generate_demo_data

    landing, target = root / "landing", root / "target"
    generate_demo_data(landing, as_of_date=DAY0, **SCALE)
    warehouse = root / "daily.duckdb"
    seq = Sequence(landing=landing, daily=warehouse, rebuilt=root / "rebuilt.duckdb")

    seq.target = target
    seq.lines[0], seq.load_log[0] = _ingest(warehouse, landing)
    seq.changed_only[0] = build(warehouse, target, DAY0, False)
    candidates = _open_deals(warehouse, DAY0)
    deleted_before = {r[0] for r in _query(warehouse, "select id from raw.opportunity where is_deleted")}

    # day 1: the export rewrites its files (one deal soft-deleted, one gone with what hangs on it)
    day1 = DAY0 + dt.timedelta(days=1)
    write_next_day(landing, day1, mode="full", seed=1)
    header, deals = _rows(landing / "opportunity.csv")
    flagged = {r[0] for r in deals if r[header.index("is_deleted")] == "true"}
    seq.soft = sorted(flagged - deleted_before)[0]
    untouched = {r[0] for r in deals if r[header.index("last_modified_date")] < f"{day1}"}
    seq.lines[1], seq.load_log[1] = _ingest(warehouse, landing)
    raw_ids = {r[0] for r in _query(warehouse, "select id from raw.opportunity")}
    seq.hard = sorted(raw_ids - {r[0] for r in deals})[0]
    seq.changed_only[1] = build(warehouse, target, day1, False)

    # day 2: a sync delivers change files; a history row for ten days back arrives late, with
    # the deal it closed (closed lost then, learnt today)
    day2 = DAY0 + dt.timedelta(days=2)
    write_next_day(landing, day2, mode="changes", seed=2)
    # the deals of these cases: open on day 0, not changed by the generator on days 1 to 3
    _, changed_day2 = _rows(landing / f"opportunity.changes.{day2}.csv")
    untouched -= {r[0] for r in changed_day2}
    free = [deal for deal in candidates if deal in untouched]
    seq.late = free[0]
    history_file = landing / f"opportunity_history.changes.{day2}.csv"
    h_header, h_rows = _rows(history_file)
    _, old_history = _rows(landing / "opportunity_history.csv")
    template = next(r for r in old_history if r[1] == seq.late)
    late_row = list(template)
    late_row[h_header.index("id")] = LATE_HISTORY_ID
    late_row[h_header.index("stage_name")] = "Closed Lost"
    late_row[h_header.index("probability")] = "0"
    late_row[h_header.index("forecast_category")] = "Omitted"
    late_row[h_header.index("created_date")] = f"{DAY0 - dt.timedelta(days=10)}T12:00:00Z"
    _write_rows(history_file, h_header, [*h_rows, late_row])

    def closed_lost(h: list[str], row: list[str]) -> list[str]:
        row[h.index("stage_name")] = "Closed Lost"
        row[h.index("is_closed")], row[h.index("is_won")] = "true", "false"
        row[h.index("close_date")] = (DAY0 - dt.timedelta(days=10)).isoformat()
        return row

    _change_deal(landing, day2, seq.late, closed_lost)
    seq.lines[2], seq.load_log[2] = _ingest(warehouse, landing)
    seq.changed_only[2] = build(warehouse, target, day2, False)

    # day 3: change files; a deal is won with its close date set ten days back
    day3 = DAY0 + dt.timedelta(days=3)
    write_next_day(landing, day3, mode="changes", seed=3)
    _, changed_day3 = _rows(landing / f"opportunity.changes.{day3}.csv")
    seq.backdated = next(deal for deal in free[1:] if deal not in {r[0] for r in changed_day3})
    seq.backdated_close = day3 - dt.timedelta(days=10)

    def won_backdated(h: list[str], row: list[str]) -> list[str]:
        row[h.index("stage_name")] = "Closed Won"
        row[h.index("is_closed")], row[h.index("is_won")] = "true", "true"
        row[h.index("close_date")] = seq.backdated_close.isoformat()
        return row

    _change_deal(landing, day3, seq.backdated, won_backdated)

    # ... and another is won with its close date twelve days back, the history row of its win
    # dated six days back arriving only now (the win counts from that day)
    seq.won_late = next(
        deal for deal in free[1:] if deal not in {r[0] for r in changed_day3} and deal != seq.backdated
    )
    seq.won_late_recorded = day3 - dt.timedelta(days=6)

    def won_late(h: list[str], row: list[str]) -> list[str]:
        row = won_backdated(h, row)
        row[h.index("close_date")] = (day3 - dt.timedelta(days=12)).isoformat()
        return row

    _change_deal(landing, day3, seq.won_late, won_late)
    history_file = landing / f"opportunity_history.changes.{day3}.csv"
    h_header, h_rows = _rows(history_file)
    win_row = list(next(r for r in old_history if r[1] == seq.won_late))
    win_row[h_header.index("id")] = LATE_WIN_HISTORY_ID
    win_row[h_header.index("stage_name")] = "Closed Won"
    win_row[h_header.index("probability")] = "100"
    win_row[h_header.index("forecast_category")] = "Closed"
    win_row[h_header.index("close_date")] = (day3 - dt.timedelta(days=12)).isoformat()
    win_row[h_header.index("created_date")] = f"{seq.won_late_recorded}T12:00:00Z"
    _write_rows(history_file, h_header, [*h_rows, win_row])
    seq.lines[3], seq.load_log[3] = _ingest(warehouse, landing)
    seq.changed_only[3] = build(warehouse, target, day3, False)

    # the full rebuild of the same final inputs
    shutil.copy(warehouse, seq.rebuilt)
    seq.lines[4], seq.load_log[4] = _ingest(seq.rebuilt, landing, full_refresh=True)
    seq.changed_only[4] = build(seq.rebuilt, target, day3, True)
    return seq


def test_three_daily_increments_give_the_marts_of_a_full_rebuild_of_the_same_inputs(sequence):
    differences = compare_marts(sequence.daily, sequence.rebuilt)
    assert "fct_deal_snapshots" in differences and "dim_deals" in differences
    assert {mart: text for mart, text in differences.items() if text} == {}
    # the rebuild really reloaded every file, and the days really were incremental
    assert {log["load_mode"] for log in sequence.load_log[4].values()} <= {"reloaded"}
    assert sequence.load_log[2]["opportunity"]["load_mode"] == "incremental"
    assert sequence.load_log[1]["opportunity"]["load_mode"] == "merged"


def test_the_large_staging_tables_take_only_what_changed_and_equal_a_rebuild(sequence):
    # days 1 to 3 took the changed raw rows only; day 0 and the rebuild took all of raw
    assert {day: sorted(models) for day, models in sequence.changed_only.items()} == {
        0: [],
        1: sorted(INCREMENTAL_MODELS),
        2: sorted(INCREMENTAL_MODELS),
        3: sorted(INCREMENTAL_MODELS),
        4: [],
    }
    # ... and hold the rows a rebuild gives (`_loaded_at` aside: the rebuild reloaded raw)
    assert compare_staging(sequence.daily, sequence.rebuilt) == dict.fromkeys(INCREMENTAL_STAGING, "")
    # the deal deleted on day 1 took its history with it; the one gone from the export, its
    # history, tasks and events (gone from the files too: flagged deleted in raw)
    for table, column, deals in [
        ("stg_salesforce__opportunity_history", "opportunity_id", [sequence.soft, sequence.hard]),
        ("stg_salesforce__tasks", "what_id", [sequence.hard]),
        ("stg_salesforce__events", "what_id", [sequence.hard]),
    ]:
        found = _query(
            sequence.daily, f"select count(*) from staging.{table} where list_contains(?, {column})", [deals]
        )
        assert found == [(0,)], table


def test_the_daily_forecast_buckets_recompute_what_changed_and_equal_a_rebuild(sequence):
    """int_deal_forecast_buckets_daily, incremental: days 1 to 3 recomputed the last days for
    every deal and every day of the deals raw changed, and hold the rows a rebuild gives,
    each case below included (on day 3 the run kept the days up to day 2 - 3 of the others)."""
    assert compare_staging(
        sequence.daily, sequence.rebuilt, tables=INCREMENTAL_INTERMEDIATE, schema="intermediate", ignore=()
    ) == dict.fromkeys(INCREMENTAL_INTERMEDIATE, "")
    table = "intermediate.int_deal_forecast_buckets_daily"
    day2, day3 = DAY0 + dt.timedelta(days=2), DAY0 + dt.timedelta(days=3)

    def days(deal: str, bucket: str | None = None) -> list[dt.date]:
        rows = _query(
            sequence.daily,
            f"select snapshot_date from {table} where opportunity_id = ? and period_type = 'month' "
            "and (bucket = ? or ? is null) order by 1",
            [deal, bucket, bucket],
        )
        return [r[0] for r in rows]

    def every_day(first: dt.date, last: dt.date) -> list[dt.date]:
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]

    # the deals deleted on day 1 left it
    assert days(sequence.soft) == days(sequence.hard) == []
    # the late history row closed its deal lost ten days back: no row from that day on
    closed_on = DAY0 - dt.timedelta(days=10)
    late = days(sequence.late)
    assert late and max(late) < closed_on
    # the backdated close date (no history row: the deal's stage stays the one its history
    # says) holds from the deal's last history row on: from the day after it the deal is
    # slipped, on the old days too
    assert sequence.backdated_close is not None
    after = sequence.backdated_close + dt.timedelta(days=1)
    assert days(sequence.backdated, "slipped") == every_day(after, day3)
    assert _query(
        sequence.daily,
        f"select distinct close_date from {table} where opportunity_id = ? and snapshot_date >= ?",
        [sequence.backdated, after],
    ) == [(sequence.backdated_close,)]
    # the late win, from the day its history row says (six days back; closed twelve days back)
    assert sequence.won_late_recorded is not None
    assert days(sequence.won_late, "closed_won") == every_day(sequence.won_late_recorded, day3)
    # the deals won on day 2 and not changed on day 3 count on day 3 too
    _, changed = _rows(sequence.landing / f"opportunity.changes.{day3}.csv")
    h_header, history = _rows(sequence.landing / f"opportunity_history.changes.{day3}.csv")
    untouched = {r[0] for r in changed} | {r[h_header.index("opportunity_id")] for r in history}
    won_day2 = [
        r[0]
        for r in _query(
            sequence.daily,
            f"select opportunity_id from {table} where bucket = 'closed_won' and period_type = 'month' "
            "group by 1 having min(snapshot_date) = ?",
            [day2],
        )
        if r[0] not in untouched
    ]
    assert won_day2
    assert {deal: days(deal, "closed_won") for deal in won_day2} == {deal: [day2, day3] for deal in won_day2}


def test_daily_data_tests_check_the_rows_the_run_loaded_and_the_weekly_run_checks_all(sequence, tmp_path):
    """A planted duplicate of a row the last load did not touch, stamped as loaded by it,
    fails the windowed uniqueness test (which checks the loaded keys against the whole
    table); a NULL planted outside the window passes the daily tests and fails on the
    weekly full-test day."""
    warehouse = tmp_path / "planted.duckdb"
    shutil.copy(sequence.daily, warehouse)
    table = "staging.stg_salesforce__opportunity_history"
    with duckdb.connect(str(warehouse)) as con:
        window_start = latest_load_time(con)
        old = [
            r[0]
            for r in con.execute(
                f"select opportunity_history_id from {table} where _loaded_at < ? order by 1 limit 2",
                [window_start],
            ).fetchall()
        ]
        con.execute(
            f"insert into {table} select * replace (cast(? as timestamp) as _loaded_at) "
            "from staging.stg_salesforce__opportunity_history where opportunity_history_id = ?",
            [window_start, old[0]],
        )
        con.execute(f"update {table} set stage_name = null where opportunity_history_id = ?", [old[1]])
    day3 = DAY0 + dt.timedelta(days=3)

    def failing_tests(full_tests_isodow: int) -> dict[str, str]:
        run_dbt(
            ["test", "--select", "stg_salesforce__opportunity_history,test_type:data"],
            warehouse_path=warehouse,
            target_path=tmp_path / "target",
            dbt_vars={
                "as_of_date": day3.isoformat(),
                "revops_test_window_start": window_start.isoformat(sep=" "),
                "revops_full_tests_isodow": full_tests_isodow,
            },
            check=False,
        )
        results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
        assert len(results) == 4
        return {r["unique_id"].split(".")[2]: r["status"] for r in results if r["status"] != "pass"}

    # a Thursday, not the full-test day: only the window
    assert day3.isoweekday() == 4
    assert failing_tests(7) == {
        "revops_unique_in_window_stg_salesforce__opportunity_history_opportunity_history_id": "fail"
    }
    # the full-test day: every row
    assert failing_tests(4) == {
        "revops_unique_in_window_stg_salesforce__opportunity_history_opportunity_history_id": "fail",
        "stg_salesforce__opportunity_history_not_null_columns": "fail",
    }


def test_a_file_that_did_not_change_is_skipped_and_says_so(sequence):
    for day in (1, 2, 3):
        user = sequence.load_log[day]["user"]
        assert user["load_mode"] == "incremental"
        assert list(user["skipped_files"]) == ["user.csv"]
        assert (user["new_rows"], user["changed_rows"]) == (0, 0)
        assert user["unchanged_rows"] == user["row_count"] > 0
        line = next(line for line in sequence.lines[day] if line.startswith("user:"))
        assert "skipped user.csv (unchanged)" in line, line
    # loaded once, on day 0: the raw rows are still those of the first load
    files = _query(
        sequence.daily, f"select source_file, file_kind from raw.{LOAD_LOG_FILES_TABLE} where object = 'user'"
    )
    assert files == [("user.csv", "full")]
    assert _query(sequence.daily, "select count(distinct _loaded_at) from raw.user") == [(1,)]


def test_a_changed_file_with_deleted_rows_keeps_them_flagged_and_the_marts_drop_them(sequence):
    opportunity = sequence.load_log[1]["opportunity"]
    assert opportunity["load_mode"] == "merged"
    assert opportunity["deleted_rows"] >= 2 and opportunity["new_rows"] >= 1
    assert (
        opportunity["new_rows"] + opportunity["changed_rows"] + opportunity["unchanged_rows"]
        == (opportunity["row_count"])
    )
    line = next(line for line in sequence.lines[1] if line.startswith("opportunity:"))
    assert f"{opportunity['deleted_rows']} deleted" in line, line
    # raw keeps both rows, flagged; the one gone from the export keeps its last values
    flags = dict(
        _query(
            sequence.daily,
            "select id, is_deleted from raw.opportunity where id in (?, ?)",
            [sequence.soft, sequence.hard],
        )
    )
    assert flags == {sequence.soft: True, sequence.hard: True}
    gone_history = _query(
        sequence.daily,
        "select count(*), count(*) filter (where is_deleted) from raw.opportunity_history where opportunity_id = ?",
        [sequence.hard],
    )[0]
    assert gone_history[0] > 0 and gone_history[0] == gone_history[1]
    for mart in ("dim_deals", "fct_deal_snapshots"):
        rows = _query(
            sequence.daily,
            f"select count(*) from marts.{mart} where opportunity_id in (?, ?)",
            [sequence.soft, sequence.hard],
        )
        assert rows == [(0,)], mart


def test_a_late_history_row_for_an_old_day_closes_the_deal_from_that_day(sequence):
    history = sequence.load_log[2]["opportunity_history"]
    assert history["load_mode"] == "incremental" and history["new_rows"] >= 1
    assert _query(
        sequence.daily, "select count(*) from raw.opportunity_history where id = ?", [LATE_HISTORY_ID]
    ) == [(1,)]
    # open every day up to the close ten days back, no day after it
    closed_on = DAY0 - dt.timedelta(days=10)
    days = _query(
        sequence.daily,
        "select count(*) filter (where snapshot_date >= ?), count(*) filter (where snapshot_date < ?) "
        "from marts.fct_deal_snapshots where opportunity_id = ?",
        [closed_on, closed_on, sequence.late],
    )[0]
    assert days[0] == 0 and days[1] > 0


def test_a_backdated_close_date_is_merged_and_counts_on_that_day(sequence):
    log = sequence.load_log[3]["opportunity"]
    assert log["load_mode"] == "incremental" and log["changed_rows"] >= 1
    deal = _query(
        sequence.daily,
        "select current_close_date, is_won from marts.dim_deals where opportunity_id = ?",
        [sequence.backdated],
    )
    assert deal == [(sequence.backdated_close, True)]
    # its days in the incremental snapshots are those a rebuild gives (the deal's
    # last_modified_date moved, so the incremental model rebuilt all of them)
    sql = "select * from marts.fct_deal_snapshots where opportunity_id = ? order by snapshot_date"
    daily = _query(sequence.daily, sql, [sequence.backdated])
    assert daily and daily == _query(sequence.rebuilt, sql, [sequence.backdated])


def test_a_change_file_already_applied_is_not_applied_again(sequence):
    applied = _query(
        sequence.daily,
        f"select source_file from raw.{LOAD_LOG_FILES_TABLE} where object = 'opportunity' order by source_file",
    )
    assert [r[0] for r in applied] == [
        f"opportunity.changes.{DAY0 + dt.timedelta(days=2)}.csv",
        f"opportunity.changes.{DAY0 + dt.timedelta(days=3)}.csv",
        "opportunity.csv",
    ]
    day3 = sequence.load_log[3]["opportunity"]
    assert list(day3["skipped_files"]) == [
        "opportunity.csv",
        f"opportunity.changes.{DAY0 + dt.timedelta(days=2)}.csv",
    ]
    assert list(day3["applied_files"]) == [f"opportunity.changes.{DAY0 + dt.timedelta(days=3)}.csv"]


def test_the_pipeline_passes_the_latest_load_as_the_test_window_on_a_daily_run_only(sequence, tmp_path):
    from orchestration.dbt_assets import test_window_environment
    from orchestration.resources import WarehouseResource

    built = tmp_path / "built.duckdb"
    shutil.copy(sequence.daily, built)
    with duckdb.connect(str(built), read_only=True) as con:
        loaded = latest_load_time(con)
    assert loaded is not None and loaded.date() >= dt.date.today() - dt.timedelta(days=1)
    daily = WarehouseResource(warehouse_path=str(built))
    assert test_window_environment(daily) == {"REVOPS_TEST_WINDOW_START": loaded.isoformat(sep=" ")}
    # --full-refresh, and a first build (raw loaded, no marts yet): whole tables
    refresh = WarehouseResource(warehouse_path=str(built), full_refresh=True)
    assert test_window_environment(refresh) == {"REVOPS_TEST_WINDOW_START": ""}
    with duckdb.connect(str(built)) as con:
        con.execute("drop schema marts cascade")
    assert test_window_environment(daily) == {"REVOPS_TEST_WINDOW_START": ""}
