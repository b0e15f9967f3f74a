"""The publishing core on real DuckDB files, without dbt: all or nothing, state that
survives the served file, the served as-of, the row-count baseline and the build lock.

A tiny working warehouse (two marts) stands in for a build: what is tested is what the
publisher does with files, so the marts' content does not matter, only that each
publish is recognisable (its `marker` column).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from revops import publish, state
from revops.publish import PUBLISH_STEPS, OlderAsOfError, PublishError, PublishRequest, publish_marts

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 23)
MARTS = ["deal_risk", "forecast"]


def make_warehouse(path: Path, marker: str) -> Path:
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        for mart in MARTS:
            con.execute(
                f"create table marts.{mart} as select '{marker}' as marker, range as n from range(10)"
            )
    return path


def request(run_id: str, day: dt.date = DAY, **extra) -> PublishRequest:
    return PublishRequest(run_id=run_id, as_of_date=day, marts=MARTS, raw_row_counts={"task": 100}, **extra)


def served_view(serve_dir: Path, state_file: Path) -> dict:
    """What each of the three places says is served: the DuckDB file, Parquet current, the log."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{serve_dir / 'revops.duckdb'}' as s (read_only)")
        markers = {
            r[0] for m in MARTS for r in con.execute(f"select distinct marker from s.marts.{m}").fetchall()
        }
        log = con.execute(
            "select publish_id, parquet_version from s.main.publish_log order by published_at"
        ).fetchall()
    finally:
        con.close()
    current = serve_dir / "parquet" / "current"
    parquet_markers = {
        r[0]
        for m in MARTS
        for r in duckdb.sql(f"select distinct marker from read_parquet('{current / m}.parquet')").fetchall()
    }
    state_log = [r["publish_id"] for r in reversed(state.read_publish_log(state_file, limit=100))]
    return {
        "duckdb_markers": markers,
        "parquet_markers": parquet_markers,
        "current_version": os.readlink(current),
        "served_log": [r[0] for r in log],
        "served_log_version": log[-1][1] if log else None,
        "state_log": state_log,
    }


@pytest.fixture
def published(tmp_path):
    """A first publish ("one"), with its state file."""
    warehouse = make_warehouse(tmp_path / "build.duckdb", "one")
    serve = tmp_path / "serve"
    state_file = state.state_path_for(warehouse)
    first = publish_marts(warehouse, serve, request("run-one", source_key="src"), state_path=state_file)
    return warehouse, serve, state_file, first


# --------------------------------------------------------------------------- all or nothing


@pytest.mark.parametrize("failing_step", PUBLISH_STEPS)
def test_a_failure_at_any_step_leaves_the_three_places_agreeing(published, failing_step):
    warehouse, serve, state_file, first = published
    make_warehouse(warehouse, "two")

    def fail(step):
        if step == failing_step:
            raise OSError(f"No space left on device (injected at {step})")

    if failing_step == "finish":  # after the commit: published, tidying up left for later
        result = publish_marts(warehouse, serve, request("run-two"), state_path=state_file, on_step=fail)
        assert result.published and "tidying up failed" in result.detail
        expected_marker, expected_log = "two", [first.publish_id, result.publish_id]
    else:
        with pytest.raises(PublishError) as raised:
            publish_marts(warehouse, serve, request("run-two"), state_path=state_file, on_step=fail)
        message = str(raised.value)
        # the message names the step and exactly what BI reads
        assert f"failed at step {failing_step}" in message
        assert f"BI reads publish {first.publish_id} (as_of_date {DAY}" in message
        assert f"v-{first.publish_id}" in message
        expected_marker, expected_log = "one", [first.publish_id]

    view = served_view(serve, state_file)
    assert view["duckdb_markers"] == view["parquet_markers"] == {expected_marker}
    assert view["served_log"] == view["state_log"] == expected_log
    assert view["current_version"] == view["served_log_version"] == f"v-{expected_log[-1]}"
    leftovers = [p.name for p in serve.iterdir() if p.name.startswith(".revops.duckdb.")]
    assert leftovers == [] or failing_step == "finish", leftovers
    versions = sorted(p.name for p in (serve / "parquet").iterdir() if p.name.startswith("v-"))
    assert f"v-{expected_log[-1]}" in versions and not [
        p for p in (serve / "parquet").iterdir() if p.name.startswith(".tmp-")
    ]

    # and the next publish works, tidying up whatever the failure left
    make_warehouse(warehouse, "three")
    third = publish_marts(warehouse, serve, request("run-three"), state_path=state_file)
    view = served_view(serve, state_file)
    assert view["duckdb_markers"] == view["parquet_markers"] == {"three"}
    assert view["served_log"] == view["state_log"] == [*expected_log, third.publish_id]
    assert not (serve / publish.JOURNAL_FILE).exists()


KILLED_PUBLISH = textwrap.dedent(
    """
    import os, signal, sys, datetime as dt
    sys.path.insert(0, {root!r})
    from revops.publish import PublishRequest, publish_marts
    def die(step):
        if step == {step!r}:
            os.kill(os.getpid(), signal.SIGKILL)
    publish_marts({warehouse!r}, {serve!r},
        PublishRequest(run_id="run-killed", as_of_date=dt.date(2026, 11, 23), marts={marts!r}),
        state_path={state_file!r}, on_step=die)
    """
)


@pytest.mark.parametrize("killed_at", ["swap_current", "commit_state"])
def test_kill_minus_9_between_the_swaps_is_undone_by_the_next_publisher(published, killed_at):
    warehouse, serve, state_file, first = published
    make_warehouse(warehouse, "two")
    code = KILLED_PUBLISH.format(
        root=str(PROJECT_ROOT),
        step=killed_at,
        warehouse=str(warehouse),
        serve=str(serve),
        marts=MARTS,
        state_file=str(state_file),
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert process.returncode == -9, process.stderr
    assert (serve / publish.JOURNAL_FILE).exists()  # killed after swapping the DuckDB file in

    # the next thing that takes the publish lock (here: recording an alert) undoes it first
    publish.record_alerts(
        serve, [{"alert_id": "a1", "kind": "gate_failure", "message": "m"}], state_path=state_file
    )
    view = served_view(serve, state_file)
    assert view["duckdb_markers"] == view["parquet_markers"] == {"one"}
    assert view["served_log"] == view["state_log"] == [first.publish_id]
    assert view["current_version"] == f"v-{first.publish_id}"
    assert not (serve / publish.JOURNAL_FILE).exists()
    assert not list(serve.glob(".revops.duckdb.prev-*"))


# --------------------------------------------------------------------------- state that survives the served file


def test_a_deleted_served_file_is_rebuilt_with_its_history(published):
    warehouse, serve, state_file, first = published
    publish.record_alerts(
        serve, [{"alert_id": "a1", "kind": "gate_failure", "message": "m"}], state_path=state_file
    )
    (serve / "revops.duckdb").unlink()

    make_warehouse(warehouse, "two")
    second = publish_marts(warehouse, serve, request("run-two"), state_path=state_file)

    view = served_view(serve, state_file)
    assert view["served_log"] == [first.publish_id, second.publish_id]
    assert [a["alert_id"] for a in publish.read_alerts(serve)] == ["a1"]


def test_a_corrupt_served_file_records_alerts_in_the_state_and_is_rebuilt_by_the_next_publish(published):
    warehouse, serve, state_file, first = published
    (serve / "revops.duckdb").write_bytes(b"this is not a DuckDB file" * 100)

    recorded = publish.record_alerts(
        serve, [{"alert_id": "a1", "kind": "gate_failure", "message": "m"}], state_path=state_file
    )
    assert not recorded.in_served_file
    assert str(state_file) in recorded.where() and "next publish rebuilds it" in recorded.where()
    assert [a["alert_id"] for a in state.read_alerts(state_file)] == ["a1"]

    make_warehouse(warehouse, "two")
    second = publish_marts(warehouse, serve, request("run-two"), state_path=state_file)
    view = served_view(serve, state_file)
    assert view["duckdb_markers"] == {"two"}
    assert view["served_log"] == view["state_log"] == [first.publish_id, second.publish_id]
    assert [a["alert_id"] for a in publish.read_alerts(serve)] == ["a1"]


HOLD_READ_WRITE = textwrap.dedent(
    """
    import duckdb, sys, time
    con = duckdb.connect(sys.argv[1])  # read-write, as the DuckDB CLI opens a file by default
    con.execute("create table if not exists main.bi_scratch as select 1 as x")
    print("holding", flush=True)
    sys.stdin.read()
    """
)


def test_a_bi_tool_holding_the_served_file_read_write_blocks_nothing(published):
    warehouse, serve, state_file, first = published
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_WRITE, str(serve / "revops.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        baseline = publish.last_good_raw_counts(warehouse, "src", serve_dir=serve, tables=["task"])
        assert baseline == {"task": 100}
        recorded = publish.record_alerts(
            serve, [{"alert_id": "a1", "kind": "gate_failure", "message": "m"}], state_path=state_file
        )
        assert recorded.in_served_file
        make_warehouse(warehouse, "two")
        second = publish_marts(warehouse, serve, request("run-two"), state_path=state_file)
        assert holder.poll() is None
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    view = served_view(serve, state_file)
    assert view["duckdb_markers"] == {"two"}
    assert view["served_log"] == [first.publish_id, second.publish_id]


def test_a_served_file_from_before_the_state_file_gives_it_its_history(tmp_path):
    warehouse = make_warehouse(tmp_path / "build.duckdb", "one")
    serve = tmp_path / "serve"
    legacy = publish_marts(warehouse, serve, request("run-legacy"))  # no state file: the old way
    state_file = state.state_path_for(warehouse)
    assert not state_file.exists()

    assert publish.last_good_raw_counts(warehouse, "any-source", serve_dir=serve) == {"task": 100}
    assert [r["publish_id"] for r in state.read_publish_log(state_file)] == [legacy.publish_id]


# --------------------------------------------------------------------------- served as-of


def test_an_older_as_of_is_refused_unless_allowed_and_a_backfill_publishes_only_newer_days(published):
    warehouse, serve, state_file, first = published
    older = DAY - dt.timedelta(days=14)
    make_warehouse(warehouse, "old")

    with pytest.raises(OlderAsOfError) as raised:
        publish_marts(warehouse, serve, request("run-old", older), state_path=state_file)
    assert str(raised.value) == (
        f"the marts describe {older}, older than the {DAY} BI reads now (publish {first.publish_id}): "
        "publishing them would show BI older numbers; run with --allow-older to publish them anyway"
    )
    assert served_view(serve, state_file)["duckdb_markers"] == {"one"}

    # a backfill day: built and gated, not published when it is not newer
    for day in (older, DAY):
        skipped = publish_marts(
            warehouse, serve, request("run-backfill", day, only_if_newer=True), state_path=state_file
        )
        assert not skipped.published and skipped.detail
    assert served_view(serve, state_file)["served_log"] == [first.publish_id]
    newer = publish_marts(
        warehouse,
        serve,
        request("run-next", DAY + dt.timedelta(days=1), only_if_newer=True),
        state_path=state_file,
    )
    assert newer.published

    allowed = publish_marts(
        warehouse, serve, request("run-old", older, allow_older=True), state_path=state_file
    )
    assert served_view(serve, state_file)["served_log"][-1] == allowed.publish_id


# --------------------------------------------------------------------------- row-count baselines


def _good_load(state_file: Path, source: str, rows: int, n: int) -> None:
    with state.open_state(state_file) as con:
        state.insert_rows(
            con,
            "raw_baselines",
            [
                {
                    "source_key": source,
                    "table_name": "task",
                    "row_count": rows,
                    "publish_id": f"p{n}",
                    "recorded_at": dt.datetime(2026, 11, 1) + dt.timedelta(days=n),
                }
            ],
        )


def test_a_slow_bleed_is_compared_with_the_largest_of_the_last_good_loads(tmp_path):
    state_file = tmp_path / "build.state.duckdb"
    _good_load(state_file, "demo", 10_000, 1)
    _good_load(state_file, "demo", 5_500, 2)  # lost 45%: passed the 50% rule
    # the next load lost 45% again: against the last load it passes, against the baseline it does not
    baseline = state.last_good_raw_counts(state_file, "demo", loads=5)
    assert baseline == {"task": 10_000}
    assert baseline["task"] * 0.5 > 3_025
    # after five more good loads at the new level, the old peak is out of the window
    for n in range(3, 8):
        _good_load(state_file, "demo", 5_500, n)
    assert state.last_good_raw_counts(state_file, "demo", loads=5) == {"task": 5_500}


def test_a_new_landing_folder_starts_its_own_baseline_and_a_reset_forgets_one(tmp_path):
    state_file = tmp_path / "build.state.duckdb"
    _good_load(state_file, "/data/landing", 155_000, 1)
    assert state.last_good_raw_counts(state_file, "/home/me/crm_export", tables=["task", "event"]) == {
        "task": 0,
        "event": 0,  # 0: no earlier good load, never the demo's counts
    }
    assert state.reset_baseline(state_file, "/data/landing") == 1
    assert state.last_good_raw_counts(state_file, "/data/landing", tables=["task"]) == {"task": 0}


# --------------------------------------------------------------------------- the build lock


HOLD_LOCK = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from revops.run_lock import build_lock
    with build_lock({warehouse!r}, "revops run", run_id="r-123"):
        print("locked", flush=True)
        sys.stdin.read()
    """
)


def test_the_build_lock_refuses_a_second_build_in_one_sentence_and_dies_with_its_holder(tmp_path):
    from revops.run_lock import BuildLockedError, build_lock, lock_path

    warehouse = tmp_path / "build.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK.format(root=str(PROJECT_ROOT), warehouse=str(warehouse))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(BuildLockedError) as refused, build_lock(warehouse, "revops backfill"):
            pass
        sentence = str(refused.value)
        started = json.loads(lock_path(warehouse).read_text())["started_at"]
        assert sentence == (
            f"another build (revops run, pid {holder.pid}, started {started}) holds {warehouse}; "
            "try again when it finishes"
        )
    finally:
        holder.kill()  # SIGKILL: the kernel frees the flock
        holder.wait()
    assert lock_path(warehouse).exists()  # a stale lock file is not an error
    # re-entrant in a process
    with (
        build_lock(warehouse, "revops run") as mine,
        build_lock(warehouse, "a Dagster run", run_id="nested") as nested,
    ):
        assert nested is mine and mine["pid"] == os.getpid()


def _rows(sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def test_a_mart_that_did_not_change_keeps_its_parquet_file_and_a_changed_one_gets_a_new_one(tmp_path):
    warehouse = make_warehouse(tmp_path / "build.duckdb", "one")
    serve = tmp_path / "serve"
    state_file = state.state_path_for(warehouse)
    first = publish_marts(warehouse, serve, request("run-1"), state_path=state_file)
    assert first.parquet_reused == ()
    with duckdb.connect(str(warehouse)) as con:  # the next day: forecast changes, deal_risk does not
        con.execute("update marts.forecast set marker = 'two' where n = 3")
    second = publish_marts(
        warehouse, serve, request("run-2", DAY + dt.timedelta(days=1)), state_path=state_file
    )
    assert second.parquet_reused == ("deal_risk",)
    parquet = serve / "parquet"
    old, new = parquet / f"v-{first.publish_id}", parquet / f"v-{second.publish_id}"
    assert os.stat(new / "deal_risk.parquet").st_ino == os.stat(old / "deal_risk.parquet").st_ino
    assert os.stat(new / "forecast.parquet").st_ino != os.stat(old / "forecast.parquet").st_ino
    current = parquet / "current"
    assert _rows(f"select count(*) from '{current}/forecast.parquet' where marker = 'two'") == [(1,)]

    # a double that moves in its last bit is a change for the file (the fingerprint rounds it away)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create or replace table marts.deal_risk as "
            "select 'one' as marker, range as n, 0.1::double + 0.2::double as x from range(10)"
        )
    third = publish_marts(
        warehouse, serve, request("run-3", DAY + dt.timedelta(days=2)), state_path=state_file
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create or replace table marts.deal_risk as "
            "select 'one' as marker, range as n, 0.3::double as x from range(10)"
        )
    fourth = publish_marts(
        warehouse, serve, request("run-4", DAY + dt.timedelta(days=3)), state_path=state_file
    )
    assert third.parquet_reused == ("forecast",) and fourth.parquet_reused == ("forecast",)
    assert _rows(f"select distinct x from '{current}/deal_risk.parquet'") == [(0.3,)]

    # the first version pruned away (days kept: 1): the files it shared stay readable in the others
    publish_marts(
        warehouse, serve, request("run-5", DAY + dt.timedelta(days=4)), state_path=state_file, days_kept=1
    )
    assert not old.exists()
    assert _rows(f"select count(*) from '{current}/deal_risk.parquet'") == [(10,)]


SNAPSHOTS = "fct_deal_snapshots"  # published by month of snapshot_date (revops.publish.content)


def _snapshot_warehouse(path: Path) -> Path:
    """deal_risk and forecast as in `make_warehouse`, and a snapshot mart over three months:
    2026-09 (4 rows), 2026-10 (3), 2026-11 (2), one row without a date."""
    make_warehouse(path, "one")
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"create table marts.{SNAPSHOTS} as select opportunity_id, snapshot_date, amount::double as amount "
            "from (values "
            "('d1', date '2026-09-01', 10.0), ('d2', date '2026-09-15', 20.0), ('d3', date '2026-09-30', 30.0),"
            "('d4', date '2026-09-30', 40.0), ('d1', date '2026-10-01', 11.0), ('d2', date '2026-10-31', 21.0),"
            "('d3', date '2026-10-15', 31.0), ('d1', date '2026-11-01', 12.0), ('d2', date '2026-11-22', 22.0),"
            "('d9', null, 0.0)) as t(opportunity_id, snapshot_date, amount)"
        )
    return path


def _snapshot_request(run_id: str, day: dt.date) -> PublishRequest:
    return PublishRequest(run_id=run_id, as_of_date=day, marts=[*MARTS, SNAPSHOTS])


def _served_rows(serve: Path, mart: str) -> list[tuple]:
    return _rows(
        f"attach '{serve / 'revops.duckdb'}' as s (read_only); select * from s.marts.{mart} order by all"
    )


def _build_rows(warehouse: Path, mart: str) -> list[tuple]:
    return _rows(f"attach '{warehouse}' as b (read_only); select * from b.marts.{mart} order by all")


def test_the_snapshot_mart_is_published_by_month_and_a_daily_publish_writes_only_the_months_that_changed(
    tmp_path,
):
    warehouse = _snapshot_warehouse(tmp_path / "build.duckdb")
    serve = tmp_path / "serve"
    state_file = state.state_path_for(warehouse)
    first = publish_marts(warehouse, serve, _snapshot_request("run-1", DAY), state_path=state_file)
    parquet = serve / "parquet"
    one = parquet / f"v-{first.publish_id}" / SNAPSHOTS
    assert sorted(p.name for p in one.iterdir()) == [
        "2026-09.parquet",
        "2026-10.parquet",
        "2026-11.parquet",
        "none.parquet",
    ]
    assert first.partitions_written == {SNAPSHOTS: ("2026-09", "2026-10", "2026-11", "none")}
    assert first.served_kept == ()
    assert _rows(f"select count(*) from '{one}/2026-10.parquet'") == [(3,)]
    assert _rows(f"select count(*) from '{one}/none.parquet'") == [(1,)]
    assert _served_rows(serve, SNAPSHOTS) == _build_rows(warehouse, SNAPSHOTS)

    # the next day: a backdated change in October, a new day in November, a new month; September
    # and the undated row untouched; deal_risk unchanged, forecast changed
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            f"update marts.{SNAPSHOTS} set amount = 31.5 where opportunity_id = 'd3' and snapshot_date = '2026-10-15'"
        )
        con.execute(
            f"insert into marts.{SNAPSHOTS} values ('d1', date '2026-11-23', 13.0), ('d5', date '2026-12-01', 50.0)"
        )
        con.execute("update marts.forecast set marker = 'two' where n = 3")
    with duckdb.connect() as reader:  # a reader holding the served file of the first publish
        reader.execute(f"attach '{serve / 'revops.duckdb'}' as held (read_only)")
        second = publish_marts(
            warehouse, serve, _snapshot_request("run-2", DAY + dt.timedelta(days=1)), state_path=state_file
        )
        assert reader.execute(f"select sum(amount) from held.marts.{SNAPSHOTS}").fetchone() == (197.0,)
    assert second.partitions_written == {SNAPSHOTS: ("2026-10", "2026-11", "2026-12")}
    assert second.partition_counts == {SNAPSHOTS: 5}
    assert second.served_kept == ("deal_risk",) and second.parquet_reused == ("deal_risk",)
    two = parquet / f"v-{second.publish_id}" / SNAPSHOTS
    for name in ("2026-09.parquet", "none.parquet"):  # the same file: a hard link, not a copy
        assert os.stat(two / name).st_ino == os.stat(one / name).st_ino
    for name in ("2026-10.parquet", "2026-11.parquet"):
        assert os.stat(two / name).st_ino != os.stat(one / name).st_ino
    for mart in (*MARTS, SNAPSHOTS):  # the patched served file holds exactly what was built
        assert _served_rows(serve, mart) == _build_rows(warehouse, mart), mart
    assert _rows(f"select count(*), sum(amount) from '{parquet / 'current' / SNAPSHOTS}/*.parquet'") == [
        (12, 260.5)
    ]
    log = _rows(
        f"attach '{serve / 'revops.duckdb'}' as s (read_only); "
        "select mart_row_counts, mart_fingerprints from s.main.publish_log order by published_at"
    )
    assert json.loads(log[-1][0])[SNAPSHOTS] == 12
    with duckdb.connect(str(warehouse), read_only=True) as con:  # the fingerprint is the whole mart's
        assert json.loads(log[-1][1]) == publish.mart_fingerprints(con, "marts", [*MARTS, SNAPSHOTS])[1]

    # a month whose every row is gone leaves the served file and the Parquet folder
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"delete from marts.{SNAPSHOTS} where snapshot_date < '2026-10-01'")
    third = publish_marts(
        warehouse, serve, _snapshot_request("run-3", DAY + dt.timedelta(days=2)), state_path=state_file
    )
    assert third.partitions_written == {SNAPSHOTS: ()}
    assert third.served_kept == ("deal_risk", "forecast")
    three = parquet / f"v-{third.publish_id}" / SNAPSHOTS
    assert "2026-09.parquet" not in {p.name for p in three.iterdir()}
    assert _served_rows(serve, SNAPSHOTS) == _build_rows(warehouse, SNAPSHOTS)


def test_a_mart_whose_columns_changed_is_copied_whole_and_a_past_day_reads_the_monthly_files(tmp_path):
    from dashboard.served import open_served

    warehouse = _snapshot_warehouse(tmp_path / "build.duckdb")
    serve = tmp_path / "serve"
    state_file = state.state_path_for(warehouse)
    first = publish_marts(warehouse, serve, _snapshot_request("run-1", DAY), state_path=state_file)
    with duckdb.connect(str(warehouse)) as con:  # same values, a wider type: not the same mart
        con.execute(
            f"create or replace table marts.{SNAPSHOTS} as "
            f"select opportunity_id, snapshot_date, amount::decimal(18, 2) as amount from marts.{SNAPSHOTS}"
        )
    second = publish_marts(
        warehouse, serve, _snapshot_request("run-2", DAY + dt.timedelta(days=1)), state_path=state_file
    )
    assert second.partitions_written == {SNAPSHOTS: ("2026-09", "2026-10", "2026-11", "none")}
    types = _rows(
        f"attach '{serve / 'revops.duckdb'}' as s (read_only); "
        f"select data_type from information_schema.columns where table_name = '{SNAPSHOTS}' and column_name = 'amount'"
    )
    assert types == [("DECIMAL(18,2)",)]
    assert _served_rows(serve, SNAPSHOTS) == _build_rows(warehouse, SNAPSHOTS)

    # the dashboard's past day: the first publish's monthly files read as one table
    with open_served(serve / "revops.duckdb", f"v-{first.publish_id}") as db:
        assert db is not None
        assert db.rows(f"select count(*), sum(amount) from marts.{SNAPSHOTS}") == [(10, 197.0)]
        assert {"marts.deal_risk", "marts.forecast", f"marts.{SNAPSHOTS}"} <= db.tables()


def test_a_partitioned_mart_without_rows_publishes_its_columns(tmp_path):
    warehouse = _snapshot_warehouse(tmp_path / "build.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"delete from marts.{SNAPSHOTS}")
    serve = tmp_path / "serve"
    result = publish_marts(
        warehouse, serve, _snapshot_request("run-1", DAY), state_path=state.state_path_for(warehouse)
    )
    folder = serve / "parquet" / f"v-{result.publish_id}" / SNAPSHOTS
    assert [p.name for p in folder.iterdir()] == ["empty.parquet"]
    assert _rows(f"describe select * from '{folder}/*.parquet'")[2][:2] == ("amount", "DOUBLE")
    assert _rows(f"select count(*) from '{folder}/*.parquet'") == [(0,)]


def test_the_fingerprint_ignores_a_parallel_sums_last_bits_even_on_a_rounding_boundary():
    from revops.publish.content import mart_content

    with duckdb.connect() as con:
        for name, x in (("up", "0.0000375 + 1e-19"), ("down", "0.0000375 - 1e-19"), ("other", "0.0000374")):
            con.execute(
                f"create table {name} as select * from (values (1, {x}), (2, 0.0), (3, null), "
                "(4, 'nan'::double), (5, 1234567.25)) t(k, x)"
            )
        up, down, other = (mart_content(con, name) for name in ("up", "down", "other"))
    # one rounding to 6 decimals puts 0.0000375 +- 1e-19 on either side (0.000038, 0.000037)
    assert up.fingerprint == down.fingerprint and up.exact != down.exact
    assert other.fingerprint != up.fingerprint  # a change in the 7th decimal is one
