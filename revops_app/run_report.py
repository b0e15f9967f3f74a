"""What a finished build tells its user: the summary of a good run, and one paragraph per
failure of a failed one (what failed, which table or check, what to do), each message once.

The paragraphs are built from what the run recorded (its check evaluations and failed
steps); the gate's own messages (`revops.quality`) name the table, the check, the failing
rows and examples, so they are quoted as they are.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import duckdb

from revops.settings import Settings

WARNINGS_SHOWN = 8
WARNING_CHARS = 160

# the steps whose failure is the blocking checks of one layer (their message repeats them)
GATE_STEPS = {
    "raw_quality_gate": "raw gate",
    "revops_dbt_models": "dbt tests",
}


def paragraph(text: str, bullet: str = "  ✗ ") -> str:
    """One paragraph on one line (the terminal wraps it; grep finds it whole)."""
    return bullet + " ".join(text.split())


@dataclass
class StepFailure:
    step: str
    message: str


def step_failures(result: Any) -> list[StepFailure]:
    """The readable reason of every failed step of a Dagster run (or of the run itself,
    when it failed before any step, e.g. while starting its resources)."""
    failures = []
    for event in result.all_events:
        if event.event_type_value == "RUN_FAILURE" and not failures:
            data = getattr(event, "event_specific_data", None)
            error = getattr(data, "error", None)
            while error is not None and error.cause is not None:
                error = error.cause
            if error is not None:
                failures.append(StepFailure("run", error.message.strip().splitlines()[-1]))
            continue
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        user = data.user_failure_data
        if user is not None and user.description:
            text = user.description
        elif data.error is not None:
            cause = data.error.cause or data.error
            text = cause.message.strip()
        else:
            text = "failed without a message"
        failures.append(StepFailure(event.step_key or "run", text))
    return failures


def failure_messages(result: Any) -> list[str]:
    """`<step>: <reason>` of every failure (the form earlier callers read)."""
    return [f.message if f.step == "run" else f"{f.step}: {f.message}" for f in step_failures(result)]


def warehouse_summary(warehouse_path: Path) -> list[tuple[str, str, int]]:
    """(schema, table, rows) of every table and view in the warehouse."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        tables = con.execute(
            """
            select table_schema, table_name
            from information_schema.tables
            where table_schema not in ('information_schema', 'pg_catalog')
            order by table_schema, table_name
            """
        ).fetchall()
        return [
            (schema, name, con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0])
            for schema, name in tables
        ]


def warehouse_lines(warehouse_path: Path) -> list[str]:
    """Tables and rows per schema, and each mart's rows (three to a line)."""
    tables = warehouse_summary(warehouse_path)
    schemas: dict[str, list[int]] = {}
    for schema, _, rows in tables:
        schemas.setdefault(schema, []).append(rows)
    out = [
        f"      {schema:<14} {len(counts):>3} tables {sum(counts):>12,} rows"
        for schema, counts in schemas.items()
    ]
    marts = [f"{name} {rows:,}" for schema, name, rows in tables if schema == "marts"]
    if marts:
        out.append("    rows per mart:")
        for start in range(0, len(marts), 3):
            out.append("      " + "".join(f"{m:<32}" for m in marts[start : start + 3]).rstrip())
    return out


@dataclass
class GateSummary:
    """The check evaluations of a run, by layer: raw gate, dbt tests (the marts' gate)."""

    passed: dict[str, int] = field(default_factory=dict)
    not_tracked: dict[str, int] = field(default_factory=dict)  # checks of what the source lacks
    failed: dict[str, list[str]] = field(default_factory=dict)  # blocking failures
    warned: dict[str, list[str]] = field(default_factory=dict)
    ran_in: dict[str, str] = field(default_factory=dict)  # where a layer ran, when not DuckDB

    def lines(self, with_failures: bool = True) -> list[str]:
        """One line per layer, then its warnings (and, `with_failures`, its failures)."""
        out = []
        for layer in ("raw gate", "dbt tests"):
            not_tracked = self.not_tracked.get(layer, 0)
            failed, warned = self.failed.get(layer, []), self.warned.get(layer, [])
            total = self.passed.get(layer, 0) + len(failed) + len(warned) + not_tracked
            if not total:
                out.append(f"    {layer:<10} not run")
                continue
            out.append(
                f"    {layer:<10} {self.passed.get(layer, 0):>4} passed, {len(failed):>3} "
                f"blocking failures, {len(warned):>3} warnings"
                + (f", {not_tracked} not run (not tracked by the source)" if not_tracked else "")
                + (f" - ran in {self.ran_in[layer]}" if layer in self.ran_in else "")
            )
            if with_failures:
                out.extend(f"      ✗ {message}" for message in failed)
            for message in warned[:WARNINGS_SHOWN]:
                short = message if len(message) <= WARNING_CHARS else message[: WARNING_CHARS - 1] + "…"
                out.append(f"      ! {short}")
            if len(warned) > WARNINGS_SHOWN:
                out.append(
                    f"      ! and {len(warned) - WARNINGS_SHOWN} more warnings (the Dagster UI lists them)"
                )
        return out

    @property
    def blocking_failures(self) -> int:
        return sum(len(messages) for messages in self.failed.values())


def gate_summary(evaluations: Iterable) -> GateSummary:
    """The run's checks by layer, as each check says (`layer` in its metadata: the raw gate's);
    every other check of the build is a dbt test (the marts' gate)."""
    from dagster import AssetCheckSeverity

    summary = GateSummary()
    for evaluation in evaluations:
        path = evaluation.asset_key.path
        declared = (evaluation.metadata or {}).get("layer")
        layer = "raw gate" if getattr(declared, "value", declared) == "raw" else "dbt tests"
        name = f"{'/'.join(path)}:{evaluation.check_name}"
        status = (evaluation.metadata or {}).get("status")
        ran_in = getattr((evaluation.metadata or {}).get("ran_in"), "value", None)
        if ran_in and not str(ran_in).startswith("DuckDB"):
            summary.ran_in[layer] = str(ran_in)
        if getattr(status, "value", status) == "not_tracked":
            summary.not_tracked[layer] = summary.not_tracked.get(layer, 0) + 1
        elif evaluation.passed:
            summary.passed[layer] = summary.passed.get(layer, 0) + 1
        elif evaluation.severity == AssetCheckSeverity.ERROR:
            summary.failed.setdefault(layer, []).append(evaluation.description or f"{name} failed")
        else:
            summary.warned.setdefault(layer, []).append(evaluation.description or f"{name} warned")
    return summary


WHAT_TO_DO = {
    "raw gate": (
        "What to do: correct the source data named above (the landing file or the connector's table), "
        "or, if the data is right, the setting or the check (expectations/raw/) the message names; then "
        "run again."
    ),
    "dbt tests": (
        "What to do: the failing rows are in the table named above; correct the source rows they come "
        "from (or the model, if its logic is wrong), then run again."
    ),
}


def failure_paragraphs(summary: GateSummary, failures: list[StepFailure], log_path: Path | None) -> list[str]:
    """One paragraph per blocking failure: the failed checks, then the failed steps whose
    reason is not those checks (an unreadable file, a dbt model error, a publish refused)."""
    out = []
    for layer in ("raw gate", "dbt tests"):
        for message in summary.failed.get(layer, []):
            hint = WHAT_TO_DO[layer]
            if layer == "raw gate" and "row_count" in message:
                hint += " After a real, intended drop in rows, `revops reset-baseline` starts a new baseline."
            out.append(paragraph(f"{layer}: {message}. {hint}"))
    covered = {step for step, layer in GATE_STEPS.items() if summary.failed.get(layer)}
    # a dbt model that errored is its own failure, whatever tests failed beside it
    covered -= {
        f.step
        for f in failures
        if f.step == "revops_dbt_models" and f.message.startswith("dbt build stopped")
    }
    if summary.blocking_failures:
        covered.add("published_marts")  # it refuses because of the checks above
    where = f"the log file {log_path}" if log_path else "the Dagster UI (the run's logs)"
    for failure in failures:
        if failure.step in covered:
            continue
        step = "the build" if failure.step == "run" else failure.step
        out.append(paragraph(f"{step} failed: {failure.message} What to do: the details are in {where}."))
    return out


def print_publish_log(settings: Settings, file: TextIO = sys.stdout) -> None:
    from revops.publish import served_path
    from revops.state import read_publish_log

    log = read_publish_log(settings.state_path(), serve_dir=settings.serve_dir, limit=3)
    if not log:
        print(f"    nothing has been published to {served_path(settings.serve_dir)} yet", file=file)
        return
    from revops.warehouse_targets import served_in_target

    in_target = served_in_target(settings)
    if in_target is not None:
        print(f"    served: {in_target}", file=file)
    else:
        print(
            f"    served: {served_path(settings.serve_dir)} (read-only for BI) and {settings.serve_dir / 'parquet' / 'current'}/",
            file=file,
        )
    for row in log:
        print(
            f"    {row['published_at']:%Y-%m-%d %H:%M:%S}Z  as_of {row['as_of_date']}  run {row['run_id'][:8]}  "
            f"{row['mart_count']} marts  {row['checks_passed']} checks passed, {row['checks_warned']} warnings",
            file=file,
        )


def where_alerts_are(settings: Settings, run_id: str) -> str:
    """Where this run's alert went, as it is (not as it should be)."""
    from revops.publish import served_path
    from revops.state import read_alerts as state_alerts

    try:
        in_state = state_alerts(settings.state_path(), serve_dir=settings.serve_dir, run_id=run_id)
    except Exception as error:
        return f"the alert could not be read back ({error})"
    if not in_state:
        return "no alert was recorded (see the Dagster UI for the run)"
    from revops.publish import read_alerts as served_alerts

    try:
        in_served = served_alerts(settings.serve_dir, run_id=run_id)
    except Exception:
        in_served = []
    where = f"the alert is in {settings.state_path()} (alerts)"
    if in_served:
        where += f" and in main.alerts of {served_path(settings.serve_dir)}"
    else:
        where += (
            f"; {served_path(settings.serve_dir)} could not take it now, the next publish copies it there"
        )
    return where + " (and on the webhook when REVOPS_ALERT_WEBHOOK_URL is set)"
