"""Write-audit-publish: what BI reads changes only in one atomic step, after a passing run.

- the good baseline is published (DuckDB file + Parquet), with its publish log and the
  hygiene digest per manager, and a value full of SQL is served as plain data;
- a kill -9 in the middle of dbt leaves the served file intact and the next run
  succeeds without cleanup, publishing marts identical to the baseline's, while a
  reader holding the served file open keeps its view until it reopens;
- the publishing core on its own: a reader across a publish, failed runs' alerts that
  leave the marts byte-for-byte alone, and stale temporary files cleaned up.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from .helpers import GATE_AS_OF_DATE, SQL_NAME, run_build, served_state

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _read(con_path: Path, sql: str):
    """Query a served file the way BI does: its own read-only connection."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{con_path}' as served (read_only)")
        return con.execute(sql.replace("{s}", "served")).fetchall()
    finally:
        con.close()


# --------------------------------------------------------------------------- the good build


def test_the_good_build_is_published_with_its_log_parquet_and_digest(baseline):
    from revops.publish import read_alerts, read_publish_log
    from revops.publish.served import parquet_location

    served = baseline.serve_dir / "revops.duckdb"
    assert served.is_file()
    marts = baseline.state["counts"]
    assert "deal_risk" in marts and marts["deal_risk"] > 0

    log = read_publish_log(baseline.serve_dir)
    assert len(log) == 1
    entry = log[0]
    assert entry["as_of_date"] == GATE_AS_OF_DATE
    assert json.loads(entry["mart_row_counts"]) == marts
    assert entry["checks_passed"] > 100  # raw gate + dbt tests + mart gate
    assert json.loads(entry["raw_row_counts"])["opportunity"] == 800

    current = baseline.serve_dir / "parquet" / "current"
    assert current.is_symlink() and current.resolve().name == entry["parquet_version"]
    for mart, rows in marts.items():  # fct_deal_snapshots: one file per month of snapshot_date
        parquet = parquet_location(current, mart)
        assert duckdb.sql(f"select count(*) from read_parquet('{parquet}')").fetchall()[0][0] == rows
    months = sorted(p.stem for p in (current / "fct_deal_snapshots").iterdir())
    assert len(months) > 1 and months == sorted(
        {
            f"{d:%Y-%m}"
            for (d,) in _read(served, "select distinct snapshot_date from served.marts.fct_deal_snapshots")
        }
    )

    digests = [a for a in read_alerts(baseline.serve_dir) if a["kind"] == "hygiene_digest"]
    assert digests, "no pipeline-hygiene digest was recorded"
    assert all(a["recipient"] for a in digests)
    assert len({a["recipient"] for a in digests}) == len(digests)  # one per manager


def test_a_value_full_of_sql_is_served_as_data(baseline):
    served = baseline.serve_dir / "revops.duckdb"
    names = _read(
        served, "select opportunity_name from {s}.marts.dim_deals where opportunity_name like 'Robert%'"
    )
    assert names == [(SQL_NAME,)]
    with duckdb.connect(str(baseline.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from raw.opportunity").fetchone()[0] == 800


def test_the_digest_went_to_the_webhook_per_manager(baseline):
    """After the publish: one Slack message per manager, their team's problem deals,
    largest amounts first, the same as the rows recorded in main.alerts."""
    from revops.publish import read_alerts

    recorded = {a["title"]: a for a in read_alerts(baseline.serve_dir) if a["kind"] == "hygiene_digest"}
    posts = [p for p in baseline.webhook_posts if "Pipeline hygiene" in p["text"]]
    assert len(posts) == len(recorded) >= 2
    with duckdb.connect(str(baseline.warehouse_path), read_only=True) as con:
        problem_deals = con.execute(
            "select count(*) from marts.deal_risk where not has_next_step or is_close_date_past "
            "or is_stalled or is_inactive"
        ).fetchone()[0]
    assert sum(a["failing_row_count"] for a in recorded.values()) == problem_deals
    for payload in posts:
        assert set(payload) == {"text", "blocks"}
        title = payload["blocks"][0]["text"]["text"].removeprefix("🧹 ")
        assert title in recorded
        deals = payload["blocks"][2]["text"]["text"].splitlines()[1:]
        amounts = [float(line.split(" — ")[1].lstrip("$").replace(",", "")) for line in deals]
        assert amounts == sorted(amounts, reverse=True) and len(amounts) <= 10


# --------------------------------------------------------------------------- kill -9 and a reader


def _dbt_is_running(dbt_target: Path, started_after: float) -> bool:
    """dagster-dbt gives each dbt invocation its own folder under DBT_TARGET_PATH."""
    for folder in dbt_target.glob("revops_dbt_models-*"):
        if folder.stat().st_mtime >= started_after and (folder / "manifest.json").exists():
            return True
    return False


def test_kill_minus_9_in_dbt_then_a_clean_rerun_with_a_reader_open(workspace, baseline, gate_env, tmp_path):
    served = workspace.serve_dir / "revops.duckdb"
    before = served_state(workspace.serve_dir)
    served_inode = served.stat().st_ino

    # 1. the pipeline in its own process, killed with SIGKILL while dbt runs
    dbt_target = tmp_path / "dbt_target"
    dbt_target.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "REVOPS_SERVE_DIR": str(workspace.serve_dir),
        "DBT_TARGET_PATH": str(dbt_target),
        "DBT_LOG_PATH": str(dbt_target / "logs"),
    }
    (tmp_path / "dagster_home").mkdir()
    started = time.time()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revops_app.cli",
            "run",
            "--landing-dir",
            str(workspace.landing_dir),
            "--warehouse",
            str(workspace.warehouse_path),
            "--as-of",
            GATE_AS_OF_DATE.isoformat(),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: dbt dies with it
    )
    try:
        deadline = time.time() + 600  # a hang guard, not a timing: a loaded machine starts slowly
        while not _dbt_is_running(dbt_target, started):
            assert process.poll() is None, process.stdout.read().decode()[-3000:]
            assert time.time() < deadline, "dbt never started"
            time.sleep(0.2)
        time.sleep(3)  # well into the build: models are being written
        assert process.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL

    # the served file is the same file, intact, with the same marts
    assert served.stat().st_ino == served_inode
    assert served_state(workspace.serve_dir) == before

    # a kill during an earlier publish would have left these; the next publish removes them
    (workspace.serve_dir / ".revops.duckdb.tmp-killed").write_bytes(b"half a file")
    (workspace.serve_dir / "parquet" / ".tmp-killed").mkdir()

    # 2. a BI reader holds the served file open across the next publish
    reader = duckdb.connect(str(served), read_only=True)
    try:
        publishes_seen = reader.execute("select count(*) from main.publish_log").fetchone()[0]
        risk_before = reader.execute("select count(*), sum(risk_score) from marts.deal_risk").fetchall()

        code = run_build(workspace.landing_dir, workspace.warehouse_path, workspace.serve_dir)
        assert code == 0, "the run after the kill did not succeed"

        # the reader was never blocked and still sees the file it opened
        assert reader.execute("select count(*) from main.publish_log").fetchone()[0] == publishes_seen
        assert (
            reader.execute("select count(*), sum(risk_score) from marts.deal_risk").fetchall() == risk_before
        )
    finally:
        reader.close()

    # reopening shows the new publish: same inputs, identical marts, one more log entry
    after = served_state(workspace.serve_dir)
    assert served.stat().st_ino != served_inode
    assert after["publishes"] == before["publishes"] + 1
    assert after["fingerprints"] == baseline.state["fingerprints"]
    assert not list(workspace.serve_dir.glob(".revops.duckdb.tmp-*"))
    assert not (workspace.serve_dir / "parquet" / ".tmp-killed").exists()


# --------------------------------------------------------------------------- the publishing core


def _change_a_mart(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.deal_risk where risk_level = 'low'")


def test_publish_core_swaps_atomically_under_an_open_reader(workspace, baseline):
    from revops.publish import PublishRequest, publish_marts

    served = workspace.serve_dir / "revops.duckdb"
    reader = duckdb.connect(str(served), read_only=True)
    try:
        rows_before = reader.execute("select count(*) from marts.deal_risk").fetchone()[0]
        _change_a_mart(workspace.warehouse_path)
        result = publish_marts(
            workspace.warehouse_path,
            workspace.serve_dir,
            PublishRequest(
                run_id="core-test", as_of_date=GATE_AS_OF_DATE, marts=list(baseline.state["counts"])
            ),
        )
        # the old view, unchanged and unblocked
        assert reader.execute("select count(*) from marts.deal_risk").fetchone()[0] == rows_before
    finally:
        reader.close()
    new_rows = _read(served, "select count(*) from {s}.marts.deal_risk")[0][0]
    assert new_rows == result.mart_row_counts["deal_risk"] < rows_before
    parquet = workspace.serve_dir / "parquet" / "current" / "deal_risk.parquet"
    assert duckdb.sql(f"select count(*) from read_parquet('{parquet}')").fetchall()[0][0] == new_rows


def test_republishing_the_same_marts_gives_identical_marts(workspace, baseline):
    from revops.publish import PublishRequest, publish_marts

    first = publish_marts(
        workspace.warehouse_path,
        workspace.serve_dir,
        PublishRequest(run_id="again-1", as_of_date=GATE_AS_OF_DATE, marts=list(baseline.state["counts"])),
    )
    second = publish_marts(
        workspace.warehouse_path,
        workspace.serve_dir,
        PublishRequest(run_id="again-2", as_of_date=GATE_AS_OF_DATE, marts=list(baseline.state["counts"])),
    )
    assert first.mart_fingerprints == second.mart_fingerprints == baseline.state["fingerprints"]
    # two versions kept for readers mid-read; older ones pruned
    versions = [p for p in (workspace.serve_dir / "parquet").iterdir() if p.name.startswith("v-")]
    assert len(versions) == 2


def test_recording_alerts_leaves_the_marts_byte_for_byte(workspace, baseline):
    from revops.publish import read_alerts, record_alerts

    before = served_state(workspace.serve_dir)
    record_alerts(
        workspace.serve_dir,
        [
            {
                "alert_id": "a1",
                "kind": "gate_failure",
                "severity": "blocking",
                "table_name": "raw.x",
                "check_name": "c",
                "failing_row_count": 3,
                "examples": [{"value": "v", "source": "x.csv line 2"}],
                "message": "raw.x: check c failed",
                "created_at": dt.datetime(2026, 11, 23),
            }
        ],
    )
    after = served_state(workspace.serve_dir)
    assert after["fingerprints"] == before["fingerprints"]
    assert after["publishes"] == before["publishes"]
    assert after["alerts"] == before["alerts"] + 1
    recorded = [a for a in read_alerts(workspace.serve_dir) if a["alert_id"] == "a1"]
    assert recorded[0]["examples"] == '[{"source": "x.csv line 2", "value": "v"}]'


def test_first_run_failing_still_records_its_alert(tmp_path):
    from revops.publish import read_alerts, record_alerts

    record_alerts(tmp_path / "serve", [{"alert_id": "a1", "kind": "gate_failure", "message": "m"}])
    assert [a["alert_id"] for a in read_alerts(tmp_path / "serve")] == ["a1"]
    assert _read(
        tmp_path / "serve" / "revops.duckdb",
        "select count(*) from information_schema.schemata where catalog_name = 'served' and schema_name = 'marts'",
    ) == [(1,)]


def test_a_publish_that_fails_midway_leaves_nothing_behind(workspace, baseline, monkeypatch):
    from revops import publish
    from revops.publish import marts

    before = served_state(workspace.serve_dir)

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(marts, "swap_in", crash)
    with pytest.raises(
        publish.PublishError,
        match=(
            r"failed at step journal \(OSError: disk full \(simulated\)\); nothing of it is served: BI reads publish"
        ),
    ):
        publish.publish_marts(
            workspace.warehouse_path,
            workspace.serve_dir,
            publish.PublishRequest(
                run_id="crash", as_of_date=GATE_AS_OF_DATE, marts=list(baseline.state["counts"])
            ),
        )
    assert served_state(workspace.serve_dir) == before
    assert not list(workspace.serve_dir.glob(".revops.duckdb.tmp-*"))
    assert not [p for p in (workspace.serve_dir / "parquet").iterdir() if p.name.startswith(".tmp-")]


# --------------------------------------------------------------------------- dbt tests gate too


def test_a_failing_dbt_test_stops_publishing(workspace, baseline, webhook, monkeypatch):
    """The team downgraded the raw owner check to a warning; the error-severity dbt test
    on the staging model's owner still stops the run before publishing, with an alert."""
    import orchestration.quality_checks as quality_checks

    real_gate = quality_checks.validate_raw_tables

    def owner_check_as_warning(settings, **kwargs):
        report = real_gate(settings, **kwargs)
        for outcome in report.outcomes:
            if outcome.check == "owner_exists":
                outcome.severity = "warning"
        return report

    monkeypatch.setattr(quality_checks, "validate_raw_tables", owner_check_as_warning)
    path = workspace.landing_dir / "opportunity.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[39].split(",")
    fields[2] = "005000000000007777"  # owner_id of line 40
    lines[39] = ",".join(fields)
    path.write_text("".join(lines), encoding="utf-8")
    webhook.clear()

    code = run_build(workspace.landing_dir, workspace.warehouse_path, workspace.serve_dir)

    assert code == 1
    assert served_state(workspace.serve_dir)["fingerprints"] == baseline.state["fingerprints"]
    from revops.publish import read_alerts

    alerts = [a for a in read_alerts(workspace.serve_dir) if a["kind"] == "gate_failure"]
    dbt_alerts = [a for a in alerts if "relationships" in (a["check_name"] or "")]
    assert dbt_alerts, [(a["table_name"], a["check_name"]) for a in alerts]
    assert dbt_alerts[0]["table_name"] == "staging.stg_salesforce__opportunities"
    assert dbt_alerts[0]["failing_row_count"] == 1
    # the model, the column and the failing row's key and value, read from dbt's stored failures
    message = dbt_alerts[0]["message"]
    assert message.startswith(
        "staging.stg_salesforce__opportunities, column owner_id: dbt test relationships"
    )
    deal_id = fields[0]
    assert f"Examples: owner_id='005000000000007777' (opportunity_id='{deal_id}')" in message
    assert "005000000000007777" in dbt_alerts[0]["examples"]
    # the failed test's rows are kept where the message points (the passed tests keep no table)
    stored = re.search(r"All failing rows: (dbt_test__audit\.\w+)", message).group(1)
    with duckdb.connect(str(workspace.warehouse_path), read_only=True) as con:
        assert con.execute(f"select count(*) from {stored}").fetchone() == (1,)
        kept = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'dbt_test__audit'"
        )
        assert 1 <= kept.fetchone()[0] <= 5
    assert len(webhook.posts) == 1 and "dbt build" in webhook.posts[0]["text"]
    assert "relationships" in webhook.posts[0]["text"]
