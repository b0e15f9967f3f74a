"""Real operation, end to end with real `revops run` processes on small demo data.

1. Two builds at once: two `revops run` started together on the same warehouse, one is
   refused with one sentence (exit 75); then run B, on a bad landing folder, started
   while the other (run A) holds the warehouse, is refused before it loads anything,
   and A publishes its own raw tables, not B's.
2. A deal soft-deleted and another hard-deleted on an incremental day, built while a BI
   tool holds the served file read-write: the build passes and publishes, both deals
   are gone from every mart, and the incremental fct_deal_snapshots equals a full
   rebuild (a late history row closing a deal 10 days back included).

Each build costs about a minute and a half on this machine: the steps share a workspace,
and each build proves what it can (three in all: the first day, the incremental day, its
full rebuild).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from conftest import isolated_cli_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 23)
SCALE = {"reps": 4, "deals": 300, "months": 6, "seed": 11}


def start_run(root: Path, landing: Path, day: dt.date = DAY, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revops_app.cli",
            "run",
            "--landing-dir",
            str(landing),
            "--warehouse",
            str(root / "warehouse" / "build.duckdb"),
            "--serve-dir",
            str(root / "serve"),
            "--as-of",
            day.isoformat(),
            *extra,
        ],
        cwd=PROJECT_ROOT,
        env=isolated_cli_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 900) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def served(root: Path, sql: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{root / 'serve' / 'revops.duckdb'}' as s (read_only)")
        con.execute("use s")
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    from revops_demo import generate_demo_data

    root = tmp_path_factory.mktemp("real_operation")
    generate_demo_data(root / "landing", as_of_date=DAY, **SCALE)
    return root


def _rewrite(path: Path, change) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    body = change(header, body)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *body])


def _lock_holder_pid(lock_file: Path) -> int | None:
    try:
        return json.loads(lock_file.read_text() or "{}").get("pid")
    except (OSError, ValueError):  # not written yet, or half written
        return None


def test_two_builds_at_once_one_is_refused_in_one_sentence_and_the_other_publishes_its_own_data(workspace):
    lock_file = workspace / "warehouse" / "build.duckdb.lock"
    bad = workspace / "landing_bad"  # a bad landing folder with fewer deals, for run B below
    shutil.copytree(workspace / "landing", bad)
    _rewrite(
        bad / "opportunity.csv",
        lambda h, body: [
            [*r[: h.index("amount")], "-500", *r[h.index("amount") + 1 :]] if n == 0 else r
            for n, r in enumerate(body[:200])
        ],
    )
    first, second = start_run(workspace, workspace / "landing"), start_run(workspace, workspace / "landing")

    # run B starts while the one of the two that holds the lock (run A) builds
    deadline = time.monotonic() + 600  # a hang guard, not a timing
    while (holder := _lock_holder_pid(lock_file)) not in (first.pid, second.pid):
        assert (first.poll() is None or second.poll() is None) and time.monotonic() < deadline
        time.sleep(0.1)
    run_a = first if holder == first.pid else second
    run_b = start_run(workspace, bad)
    code_b, _, err_b = finish(run_b, timeout=60)  # refused at once, not after A
    assert run_a.poll() is None, "run B was not refused while A was still running"

    results = [finish(first), finish(second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 75], [r[2][-2000:] for r in results]
    refused = next(err for code, _, err in results if code == 75)
    lines = refused.strip().splitlines()
    assert len(lines) == 1, refused
    assert lines[0].startswith("revops: another build (revops run, pid ")
    assert lines[0].endswith(f"holds {workspace / 'warehouse' / 'build.duckdb'}; try again when it finishes")
    assert served(workspace, "select count(*) from main.alerts where kind = 'gate_failure'") == [(0,)]

    code_a, _, err_a = results[0] if run_a is first else results[1]
    assert (code_a, code_b) == (0, 75), err_a[-3000:] + err_b[-3000:]
    assert f"(revops run, pid {run_a.pid}, started " in err_b
    log = served(workspace, "select raw_row_counts from main.publish_log order by published_at")
    assert len(log) == 1 and json.loads(log[-1][0])["opportunity"] == SCALE["deals"]
    with open(workspace / "landing" / "opportunity.csv", newline="", encoding="utf-8") as handle:
        live = sum(1 for row in csv.DictReader(handle) if row["is_deleted"].lower() not in ("true", "1"))
    assert served(workspace, "select count(*) from marts.dim_deals") == [(live,)]
    assert served(workspace, "select count(*) from marts.dim_deals where amount < 0") == [(0,)]


HOLD_READ_WRITE = textwrap.dedent(
    """
    import duckdb, sys
    con = duckdb.connect(sys.argv[1])  # read-write: the DuckDB CLI's default
    print("holding", flush=True)
    sys.stdin.read()
    """
)


def build_while_a_bi_tool_holds_the_served_file(root: Path, landing: Path, day: dt.date) -> None:
    """A build while another process holds the served file read-write (the DuckDB CLI's
    default): it passes and publishes."""
    publishes = served(root, "select count(*) from main.publish_log")[0][0]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_WRITE, str(root / "serve" / "revops.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        code, out, err = finish(start_run(root, landing, day))
        assert code == 0, err[-4000:]
        assert "==> published" in out
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert served(root, "select count(*) from main.publish_log") == [(publishes + 1,)]


def _snapshots(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select * from marts.fct_deal_snapshots order by snapshot_date, opportunity_id"
        ).fetchall()


def test_deleted_deals_and_a_late_close_on_an_incremental_day_never_jam_the_build(workspace):
    warehouse = workspace / "warehouse" / "build.duckdb"
    if not warehouse.exists():  # run on its own: the day before first
        code, _, err = finish(start_run(workspace, workspace / "landing", DAY))
        assert code == 0, err[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # open on DAY and for more than 20 days before it
        # open on DAY and for more than 20 days before it; the last one with no history
        # row in the last 10 days (so a late row closing it 10 days back closes it for good)
        open_deals = [
            r[0]
            for r in con.execute(
                """
            select s.opportunity_id
            from marts.fct_deal_snapshots as s
            left join staging.stg_salesforce__opportunity_history as h
                on h.opportunity_id = s.opportunity_id and h.created_date >= ? - 10
            group by 1
            having max(s.snapshot_date) = ? and min(s.snapshot_date) < ? - 20
            order by count(h.opportunity_id) = 0, 1
            """,
                [DAY, DAY, DAY],
            ).fetchall()
        ]
    soft, hard, late = open_deals[0], open_deals[1], open_deals[-1]
    before = served(
        workspace,
        f"select count(*) from marts.fct_deal_snapshots where opportunity_id = '{late}' "
        f"and snapshot_date >= date '{DAY - dt.timedelta(days=10)}'",
    )
    assert before[0][0] >= 10
    landing = workspace / "landing"

    def change_opportunities(h, body):
        out = []
        for row in body:
            if row[h.index("id")] == hard:
                continue  # gone from the full extract
            if row[h.index("id")] == soft:
                row[h.index("is_deleted")] = "true"
            if row[h.index("id")] == late:  # closed lost 10 days ago, learnt today
                row[h.index("stage_name")] = "Closed Lost"
                row[h.index("is_closed")], row[h.index("is_won")] = "true", "false"
                row[h.index("last_modified_date")] = f"{DAY + dt.timedelta(days=1)}T09:00:00Z"
            out.append(row)
        return out

    _rewrite(landing / "opportunity.csv", change_opportunities)
    for name, column in (
        ("opportunity_history", "opportunity_id"),
        ("task", "what_id"),
        ("event", "what_id"),
    ):
        _rewrite(
            landing / f"{name}.csv", lambda h, body, c=column: [r for r in body if r[h.index(c)] != hard]
        )

    def late_history_row(h, body):
        template = next(r for r in body if r[h.index("opportunity_id")] == late)
        row = list(template)
        row[h.index("id")] = "008LATE00000000001"
        row[h.index("stage_name")] = "Closed Lost"
        row[h.index("created_date")] = f"{DAY - dt.timedelta(days=10)}T12:00:00Z"
        return [*body, row]

    _rewrite(landing / "opportunity_history.csv", late_history_row)

    day = DAY + dt.timedelta(days=1)
    build_while_a_bi_tool_holds_the_served_file(workspace, landing, day)

    # gone from every mart that names deals
    marts = [
        r[0]
        for r in served(
            workspace,
            "select table_name from information_schema.columns "
            "where table_schema = 'marts' and column_name = 'opportunity_id'",
        )
    ]
    assert "fct_deal_snapshots" in marts and "dim_deals" in marts
    for mart in marts:
        rows = served(
            workspace, f"select count(*) from marts.{mart} where opportunity_id in ('{soft}', '{hard}')"
        )
        assert rows == [(0,)], mart
    closed_days = served(
        workspace,
        f"select count(*) from marts.fct_deal_snapshots where opportunity_id = '{late}' "
        f"and snapshot_date >= date '{DAY - dt.timedelta(days=10)}'",
    )
    assert closed_days == [(0,)]

    # the incremental table is what a full rebuild gives
    incremental = _snapshots(warehouse)
    code, _out, err = finish(start_run(workspace, landing, day, "--full-refresh"))
    assert code == 0, err[-4000:]
    assert _snapshots(warehouse) == incremental


def test_run_help_documents_full_refresh_and_allow_older():
    process = subprocess.run(
        [sys.executable, "-m", "revops_app.cli", "run", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert "--full-refresh" in process.stdout and "dbt build --full-refresh" in process.stdout
    assert "--allow-older" in process.stdout and "--rebuild-warehouse" in process.stdout
