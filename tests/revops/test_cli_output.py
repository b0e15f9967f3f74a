"""`revops` as a user meets it: bad arguments refused before any work, each subcommand's
own flags and examples, and the output of one good and one failed build.

The bad-argument tests start the real command and take well under 2 s each: nothing is
built (no warehouse file appears). The two builds (`--deals 200`) run once for the
module, side by side, and every assertion on output, log file and sensor reuses them:
the good one is the whole pipeline; the failed one stops at the raw gate (a freshness
setting of one day on a two-day-old extract), so it costs ingestion and the gate only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import isolated_cli_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXTRACT_DATE = dt.date(2026, 11, 23)
SMALL = ["--deals", "200", "--reps", "4", "--months", "6", "--seed", "7"]
MAX_LINES = 60


def revops(*args: str, root: Path, **popen) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "revops_app.cli", *args],
        cwd=PROJECT_ROOT,
        env=isolated_cli_env(root),
        capture_output=True,
        text=True,
        timeout=60,
        **popen,
    )


# --------------------------------------------------------------------------- bad arguments

# two days ahead, not one: the cases are built when the tests are collected, and a suite that
# crosses midnight UTC would make "tomorrow" today by the time this case runs
TOMORROW = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()

BAD_ARGUMENTS = {
    "future as-of": (["run", "--as-of", TOMORROW], f"argument --as-of: {TOMORROW} is after today"),
    "negative deals": (
        ["run", "--demo", "--deals", "-5"],
        "argument --deals: expected a number above 0, got -5",
    ),
    "zero reps": (["run", "--demo", "--reps", "0"], "argument --reps: expected a number above 0, got 0"),
    "zero months": (["demo-data", "--months", "0"], "argument --months: expected a number above 0, got 0"),
    "missing landing folder": (["run", "--landing-dir", "{root}/nowhere"], "{root}/nowhere does not exist"),
    "missing source database": (
        ["run", "--source", "fivetran_salesforce", "--source-database", "{root}/none.duckdb"],
        "argument --source-database: {root}/none.duckdb does not exist",
    ),
    "a flag of another command": (["status", "--deals", "5"], "unrecognized arguments: --deals 5"),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS), ids=list(BAD_ARGUMENTS))
def test_a_bad_argument_is_one_paragraph_and_exit_2_before_any_work(case, tmp_path):
    args, expected = BAD_ARGUMENTS[case]
    args = [a.replace("{root}", str(tmp_path)) for a in args]
    warehouse = tmp_path / "warehouse" / "build.duckdb"
    extra = [] if args[0] in ("status", "demo-data") else ["--warehouse", str(warehouse)]
    if args[0] == "demo-data":
        extra = ["--out", str(tmp_path / "landing")]
    process = revops(*args, *extra, root=tmp_path)

    assert process.returncode == 2, process.stdout + process.stderr
    assert process.stdout == ""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr  # one paragraph, no usage block, no traceback
    assert expected.replace("{root}", str(tmp_path)) in lines[0]
    assert lines[0].startswith("revops") and lines[0].endswith("--help`.")
    assert not warehouse.exists() and not (tmp_path / "landing").exists()
    assert not (tmp_path / "dagster_home" / "storage").exists()  # no run was recorded


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from revops_app.arguments import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_each_subcommand_lists_only_its_own_flags_each_with_help_and_examples():
    commands = _subcommands()
    assert set(commands) == {"run", "backfill", "status", "reset-baseline", "dashboard", "docs", "demo-data"}
    for name, parser in commands.items():
        flags = {o for a in parser._actions for o in a.option_strings}
        for action in parser._actions:
            assert action.help, f"revops {name} {action.option_strings}: no help"
        assert "examples:" in (parser.epilog or ""), f"revops {name} --help has no examples"
        assert ("--deals" in flags) == (name in ("run", "demo-data")), name
        assert ("--demo" in flags) == (name == "run"), name
    assert "--as-of" not in {o for a in commands["backfill"]._actions for o in a.option_strings}
    assert {o for a in commands["dashboard"]._actions for o in a.option_strings} == {
        "-h",
        "--help",
        "--serve-dir",
        "--host",
        "--port",
    }


def test_version_and_help_come_from_the_package(tmp_path):
    from importlib import metadata

    version = revops("--version", root=tmp_path)
    assert (
        version.returncode == 0 and version.stdout.strip() == f"revops {metadata.version('revops-warehouse')}"
    )
    helped = revops("run", "--help", root=tmp_path)
    assert helped.returncode == 0 and "examples:\n  revops run --demo" in helped.stdout


# --------------------------------------------------------------------------- two builds


@dataclass(frozen=True)
class Build:
    root: Path
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return (self.out + self.err).splitlines()

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "build.duckdb"

    @property
    def run_id(self) -> str:
        found = re.search(r"\(run ([0-9a-f-]{36})\)", self.out)
        assert found, self.out
        return found.group(1)

    @property
    def log_path(self) -> Path:
        return self.warehouse.with_name("build.duckdb.logs") / f"run-{self.run_id[:8]}.log"


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Build]:
    """One good build as of the extract's day, one that fails its raw gate, side by side."""
    from revops_demo import generate_demo_data

    base = tmp_path_factory.mktemp("cli_output")
    landing = base / "landing"
    generate_demo_data(landing, as_of_date=EXTRACT_DATE, reps=4, deals=200, months=6, seed=7)
    runs = {
        "good": (EXTRACT_DATE, {}),
        "failed": (EXTRACT_DATE + dt.timedelta(days=2), {"REVOPS_GATE_FRESHNESS_DAYS": "1"}),
    }
    processes = {}
    for name, (day, extra) in runs.items():
        root = base / name
        processes[name] = (
            root,
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "revops_app.cli", "run", "--landing-dir", str(landing)),
                    *("--warehouse", str(root / "warehouse" / "build.duckdb")),
                    *("--serve-dir", str(root / "serve"), "--as-of", day.isoformat()),
                ],
                cwd=PROJECT_ROOT,
                env=isolated_cli_env(root, **extra),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    done = {}
    for name, (root, process) in processes.items():
        out, err = process.communicate(timeout=1500)
        done[name] = Build(root, process.returncode, out, err)
    done["good"].root.joinpath("landing").symlink_to(landing)
    return done


def test_a_good_build_prints_a_screenful_of_our_own_lines(builds):
    good = builds["good"]
    assert good.code == 0, good.out[-3000:] + good.err[-3000:]
    print(good.out)  # pytest -s shows it as a user sees it
    assert len(good.lines) <= MAX_LINES, f"{len(good.lines)} lines:\n{good.out}{good.err}"
    assert good.err == ""
    titles = ("ingest", "raw gate", "dbt build", "mart gate", "publish")
    steps = [line.split(":")[0][4:] for line in good.out.splitlines() if line.startswith("==> ")]
    assert [step for step in steps if step in titles] == list(titles)
    assert re.search(
        r"==> dbt build: (\d+) of \1 models, seeds and snapshots built, (\d+) of \2 tests", good.out
    )
    assert " - dagster - " not in good.out and "Traceback" not in good.out
    assert f"log file:       {good.log_path}" in good.out
    log = good.log_path.read_text()
    assert " - dagster - DEBUG - revops_build - " in log and "Done. PASS=" in log  # Dagster's and dbt's


def test_a_failed_build_is_one_paragraph_per_failure_without_a_traceback(builds):
    failed = builds["failed"]
    assert failed.code == 1, failed.out[-3000:] + failed.err[-3000:]
    print(failed.out + failed.err)
    assert len(failed.lines) <= MAX_LINES, f"{len(failed.lines)} lines:\n{failed.out}{failed.err}"
    assert "Traceback" not in failed.out + failed.err and "Stack Trace" not in failed.err
    assert "==> raw gate: FAILED" in failed.out
    paragraphs = [line for line in failed.err.splitlines() if line.startswith("  ✗ ")]
    assert len(paragraphs) == 1, failed.err
    (paragraph,) = paragraphs
    assert "raw.opportunity: check fresh failed (blocking)" in paragraph and "What to do:" in paragraph
    # the message once, not repeated by the step, the gate summary and the alert
    assert (failed.out + failed.err).count("check fresh failed (blocking)") == 1
    assert "not run: dbt build, mart gate, publish" in failed.err
    assert "Stack Trace" in failed.log_path.read_text()  # the trace is kept, in the log file


def test_the_runs_record_no_placeholder_metadata_and_stream_dbt_progress(builds):
    import dagster as dg

    good = builds["good"]
    instance = dg.DagsterInstance.from_config(str(good.root / "dagster_home"))
    try:
        checks = instance.get_records_for_run(
            good.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=5000
        ).records
        materializations = instance.get_records_for_run(
            good.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=5000
        ).records
    finally:
        instance.dispose()
    for record in checks:
        metadata = record.event_log_entry.dagster_event.event_specific_data.metadata
        assert getattr(metadata.get("failing_rows"), "value", None) != -1
    # dbt's models are recorded as each finishes, not all at the end of the step
    dbt_times = sorted(
        r.event_log_entry.timestamp
        for r in materializations
        if r.event_log_entry.step_key == "revops_dbt_models"
    )
    assert len(dbt_times) > 20 and dbt_times[-1] - dbt_times[0] > 5


def test_after_a_revops_run_the_sensor_asks_for_nothing_until_a_file_changes(builds, monkeypatch):
    import dagster as dg

    from orchestration.jobs import revops_build_job
    from orchestration.resources import WarehouseResource
    from orchestration.schedules import build_landing_sensor

    good = builds["good"]
    landing = good.root / "landing"
    monkeypatch.setenv("REVOPS_LANDING_DIR", str(landing.resolve()))
    sensor = build_landing_sensor(revops_build_job)
    instance = dg.DagsterInstance.from_config(str(good.root / "dagster_home"))

    def evaluate(cursor):
        with dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource()}
        ) as context:
            return sensor.evaluate_tick(context)

    try:
        first = evaluate(None)
        assert not first.run_requests, first.skip_message
        assert f"unchanged since run {good.run_id[:8]}" in first.skip_message

        path = landing.resolve() / "opportunity.csv"
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        touched = evaluate(first.cursor)
        assert len(touched.run_requests) == 1
        assert json.loads(touched.cursor)["opportunity.csv"][1] == stat.st_mtime_ns + 1_000_000_000
    finally:
        instance.dispose()


def test_each_failure_is_told_once_and_a_dbt_model_error_is_never_hidden():
    from revops_app.run_report import GateSummary, StepFailure, failure_paragraphs

    summary = GateSummary(
        failed={"dbt tests": ["marts.deal_risk, column owner_id: dbt test not_null failed"]}
    )
    failures = [
        StepFailure("revops_dbt_models", "1 dbt test failed (each one is a failed check of its model)"),
        StepFailure("published_marts", "1 blocking checks failed in this run; nothing was published."),
    ]
    (only,) = failure_paragraphs(summary, failures, Path("/w/build.duckdb.logs/run-1.log"))
    assert only.startswith("  ✗ dbt tests: marts.deal_risk, column owner_id") and "What to do:" in only

    errored = StepFailure(
        "revops_dbt_models", "dbt build stopped: 1 node failed: model deal_risk: syntax error"
    )
    told = failure_paragraphs(summary, [errored], Path("/w/run-1.log"))
    assert len(told) == 2 and "syntax error" in told[1] and "the log file /w/run-1.log" in told[1]


def test_a_refusal_after_the_arguments_is_one_sentence_and_exit_1(tmp_path):
    """`python -m revops_app.cli` (module __main__) catches its own commands' errors."""
    (tmp_path / "landing").mkdir()
    warehouse = tmp_path / "warehouse" / "build.duckdb"
    process = revops(
        "run", "--landing-dir", str(tmp_path / "landing"), "--warehouse", str(warehouse), root=tmp_path
    )
    assert process.returncode == 1, process.stderr
    assert process.stderr.strip().splitlines() == [
        f"revops: The landing folder {tmp_path / 'landing'} has no files. Put the CRM export there (one file "
        "per object, e.g. opportunity.csv) or run with --demo."
    ]
    assert not warehouse.exists()


def test_demo_data_next_day_adds_a_day_of_changes_to_a_demo_folder(tmp_path):
    landing = tmp_path / "landing"
    made = revops(
        "demo-data", "--deals", "60", "--reps", "3", "--months", "4", "--out", str(landing), root=tmp_path
    )
    assert made.returncode == 0, made.stderr
    before = {p.name: p.read_bytes() for p in landing.iterdir()}
    nxt = revops("demo-data", "--next-day", "--out", str(landing), root=tmp_path)
    assert nxt.returncode == 0, nxt.stderr
    assert f"Next day of the demo CRM data written to {landing}" in nxt.stdout
    changed = {p.name for p in landing.iterdir() if before.get(p.name) != p.read_bytes()}
    assert "opportunity.csv" in changed and "account.csv" not in changed
    missing = revops("demo-data", "--next-day", "--out", str(tmp_path / "none"), root=tmp_path)
    assert missing.returncode != 0
    assert "needs a demo landing folder to add to" in missing.stderr
