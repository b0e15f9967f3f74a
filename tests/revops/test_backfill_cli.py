"""`revops backfill` end to end: the real command in its own process, on small demo data.

One scenario, in the order a user meets it, over the two days after the demo data was
extracted on day D (the range D+1, D+2):

1. With the freshness setting at 1 day the extract is too old for D+2 (its newest
   last_modified_date is D), so the raw gate stops that day: D+1 is built and
   published, the command fails naming D+2, and the state file keeps D+1.
2. With the setting back at its default, the same command resumes: it builds and
   publishes D+2 only.
3. A third call finds every day done and builds nothing.

Each day costs a whole build (about 30 s at this scale), so the steps share one
scenario rather than repeat the first day per test, and the range is two days.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import isolated_cli_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]

EXTRACT_DATE = dt.date(2026, 11, 23)  # the demo data's as_of_date: its newest records
DAYS = [EXTRACT_DATE + dt.timedelta(days=n) for n in (1, 2)]
SMALL_SCALE = {"reps": 4, "deals": 200, "months": 6, "seed": 7}


@dataclass(frozen=True)
class Workspace:
    landing_dir: Path
    warehouse_path: Path
    serve_dir: Path
    dagster_home: Path
    dbt_target: Path

    @property
    def state_path(self) -> Path:
        return self.warehouse_path.parent / f"backfill-{DAYS[0]}-{DAYS[-1]}.json"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    from revops_demo import generate_demo_data

    root = tmp_path_factory.mktemp("backfill")
    generate_demo_data(root / "landing", as_of_date=EXTRACT_DATE, **SMALL_SCALE)
    (root / "dagster_home").mkdir()
    return Workspace(
        landing_dir=root / "landing",
        warehouse_path=root / "warehouse" / "build.duckdb",
        serve_dir=root / "serve",
        dagster_home=root / "dagster_home",
        dbt_target=root / "dbt_target",
    )


def backfill(workspace: Workspace, **extra_env: str) -> subprocess.CompletedProcess:
    """`python -m revops_app.cli backfill --from D+1 --to D+2`, configured through the
    environment as a scheduler would, and isolated from the caller's settings."""
    env = isolated_cli_env(
        workspace.dagster_home.parent,
        REVOPS_LANDING_DIR=str(workspace.landing_dir),
        REVOPS_WAREHOUSE_PATH=str(workspace.warehouse_path),
        REVOPS_SERVE_DIR=str(workspace.serve_dir),
        **extra_env,
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "revops_app.cli",
            "backfill",
            "--from",
            DAYS[0].isoformat(),
            "--to",
            DAYS[-1].isoformat(),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def served(workspace: Workspace, sql: str) -> list[tuple]:
    from revops.publish import open_served

    with open_served(workspace.serve_dir) as con:
        assert con is not None, f"nothing was published to {workspace.serve_dir}"
        return con.execute(sql).fetchall()


def published_days(workspace: Workspace) -> list[dt.date]:
    """The as_of_date of every publish, oldest first (one entry per publish)."""
    return [
        row[0] for row in served(workspace, "select as_of_date from main.publish_log order by published_at")
    ]


def snapshot_days(workspace: Workspace) -> dict[dt.date, int]:
    """Rows per snapshot_date of the working warehouse's fct_deal_snapshots, for the range."""
    with duckdb.connect(str(workspace.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select snapshot_date, count(*) from marts.fct_deal_snapshots where snapshot_date >= ? group by 1",
            [DAYS[0]],
        ).fetchall()
    return dict(rows)


def served_as_of(workspace: Workspace) -> tuple:
    """What BI reads: the last snapshot day, its open deals, and deal_risk's day and deals."""
    return served(
        workspace,
        """
        select
            (select max(snapshot_date) from marts.fct_deal_snapshots),
            (select count(*) from marts.fct_deal_snapshots
             where snapshot_date = (select max(snapshot_date) from marts.fct_deal_snapshots)),
            (select max(as_of_date) from marts.deal_risk),
            (select count(*) from marts.deal_risk)
        """,
    )[0]


def dagster_runs(workspace: Workspace) -> list[tuple[str, str]]:
    """(run_id, status) of every revops_build run the instance recorded, oldest first."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(workspace.dagster_home))
    try:
        runs = instance.get_runs(dg.RunsFilter(job_name="revops_build"))
        return [(run.run_id, run.status.value) for run in reversed(runs)]
    finally:
        instance.dispose()


def run_log(workspace: Workspace, run_id: str) -> str:
    """The log file a run wrote beside the warehouse (Dagster's and dbt's lines)."""
    path = (
        workspace.warehouse_path.with_name(workspace.warehouse_path.name + ".logs") / f"run-{run_id[:8]}.log"
    )
    return path.read_text()


def test_backfill_stops_at_a_failing_day_then_resumes_and_skips_the_days_done(workspace):
    first_day, failing_day = DAYS

    # 1. the extract is too old for the last day: it stops there, keeping the day done
    first = backfill(workspace, REVOPS_GATE_FRESHNESS_DAYS="1")

    assert first.returncode == 1, first.stdout[-3000:] + first.stderr[-3000:]
    assert first.stderr.strip().splitlines()[-1] == (
        f"revops: the backfill stopped at {failing_day} (1 of 2 days done). Fix the cause above "
        f"and run the same command again to carry on from {failing_day}."
    )
    assert "raw.opportunity: check fresh failed (blocking)" in first.stderr
    assert json.loads(workspace.state_path.read_text()) == [first_day.isoformat()]
    # the day before the failure was built and published, once
    assert published_days(workspace) == [first_day]
    built = snapshot_days(workspace)
    assert list(built) == [first_day] and built[first_day] > 0
    last_snapshot, open_deals, risk_as_of, risk_deals = served_as_of(workspace)
    assert (last_snapshot, risk_as_of) == (first_day, first_day)
    assert open_deals == risk_deals == built[first_day]
    # the failed day left its alert, and nothing of its own was published
    alerts = served(
        workspace,
        "select as_of_date, kind, table_name, check_name, run_id from main.alerts where kind = 'gate_failure'",
    )
    assert [alert[:4] for alert in alerts] == [(failing_day, "gate_failure", "raw.opportunity", "fresh")]
    runs = dagster_runs(workspace)
    assert [status for _, status in runs] == ["SUCCESS", "FAILURE"]
    assert runs[-1][0] == alerts[0][4]

    # 2. the same command with the default setting carries on from the failed day only
    second = backfill(workspace)

    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "resuming the backfill: 1 of 2 days already built" in second.stdout
    assert [line for line in second.stdout.splitlines() if line.startswith("==> backfill day")] == [
        f"==> backfill day 2/2: {failing_day}"
    ]
    assert json.loads(workspace.state_path.read_text()) == [day.isoformat() for day in DAYS]
    assert published_days(workspace) == DAYS  # the first day was not built again
    assert [status for _, status in dagster_runs(workspace)] == ["SUCCESS", "FAILURE", "SUCCESS"]
    built_after = snapshot_days(workspace)
    assert sorted(built_after) == DAYS and built_after[failing_day] > 0
    assert built_after[first_day] == built[first_day]
    last_snapshot, open_deals, risk_as_of, risk_deals = served_as_of(workspace)
    assert (last_snapshot, risk_as_of) == (failing_day, failing_day)
    assert open_deals == risk_deals == built_after[failing_day]
    # the new day is not a dbt var: the first build parsed the project, this one only what changed
    first_log, second_log = (
        run_log(workspace, run_id) for run_id, status in dagster_runs(workspace) if status == "SUCCESS"
    )
    assert "Unable to do partial parsing" in first_log
    assert "Unable to do partial parsing" not in second_log and "Found " in second_log

    # 3. every day is done: nothing is built or published again
    third = backfill(workspace)

    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert "resuming the backfill: 2 of 2 days already built" in third.stdout
    assert "==> backfill day" not in third.stdout
    assert f"backfill complete: 2 days from {first_day} to {failing_day}" in third.stdout
    assert published_days(workspace) == DAYS
    assert len(dagster_runs(workspace)) == 3


def test_a_range_that_ends_before_it_starts_is_refused_before_any_build(tmp_path):
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "revops_app.cli",
            "backfill",
            "--from",
            "2026-11-25",
            "--to",
            "2026-11-23",
            "--landing-dir",
            str(tmp_path / "landing"),
            "--warehouse",
            str(tmp_path / "build.duckdb"),
            "--serve-dir",
            str(tmp_path / "serve"),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )

    assert process.returncode == 2  # a usage error, as argparse's own
    assert process.stderr.strip() == (
        "revops backfill: --to 2026-11-23 is before --from 2026-11-25. See `revops backfill --help`."
    )
    assert not list(tmp_path.iterdir())
