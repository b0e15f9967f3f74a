"""Run the whole build once, in this process, recorded in the local Dagster instance."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from revops.settings import Settings


def _database_config(database) -> str:
    if database is None:
        return ""
    return str(database.resolve()) if isinstance(database, Path) else str(database)


EXIT_BUILD_LOCKED = 75  # EX_TEMPFAIL: another build holds the warehouse; try again later


def _resource_config(
    settings: Settings, *, full_refresh: bool = False, allow_older: bool = False, only_if_newer: bool = False
) -> dict:
    return {
        "resources": {
            "warehouse": {
                "config": {
                    "landing_dir": str(settings.landing_dir.resolve()),
                    "warehouse_path": str(settings.warehouse_path.resolve()),
                    "raw_schema": settings.raw_schema,
                    "as_of_date": settings.resolved_as_of_date().isoformat(),
                    "source": settings.source,
                    "source_database": _database_config(settings.source_database),
                    "source_schema": settings.source_schema or "",
                    "source_mapping": str(settings.source_mapping.resolve())
                    if settings.source_mapping
                    else "",
                    "full_refresh": full_refresh,
                }
            },
            "serving": {
                "config": {
                    "serve_dir": str(settings.serve_dir.resolve()),
                    "allow_older": allow_older,
                    "only_if_newer": only_if_newer,
                }
            },
        }
    }


def failure_messages(result) -> list[str]:
    """The readable reason of every failed step of a Dagster run (or of the run itself,
    when it failed before any step, e.g. while starting its resources)."""
    messages = []
    for event in result.all_events:
        if event.event_type_value == "RUN_FAILURE" and not messages:
            data = getattr(event, "event_specific_data", None)
            error = getattr(data, "error", None)
            while error is not None and error.cause is not None:
                error = error.cause
            if error is not None:
                messages.append(error.message.strip().splitlines()[-1])
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
        messages.append(f"{event.step_key}: {text}")
    return messages


def warehouse_summary(warehouse_path) -> list[tuple[str, str, int]]:
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


@dataclass
class GateSummary:
    """The check evaluations of a run, by layer: raw gate, dbt tests, mart gate."""

    passed: dict[str, int] = field(default_factory=dict)
    not_tracked: dict[str, int] = field(default_factory=dict)  # checks of what the source lacks
    failed: dict[str, list[str]] = field(default_factory=dict)  # blocking failures
    warned: dict[str, list[str]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        for layer in ("raw gate", "dbt tests", "mart gate"):
            not_tracked = self.not_tracked.get(layer, 0)
            total = (
                self.passed.get(layer, 0)
                + len(self.failed.get(layer, []))
                + len(self.warned.get(layer, []))
                + not_tracked
            )
            if not total:
                out.append(f"    {layer:<10} not run")
                continue
            out.append(
                f"    {layer:<10} {self.passed.get(layer, 0):>4} passed, {len(self.failed.get(layer, [])):>3} "
                f"blocking failures, {len(self.warned.get(layer, [])):>3} warnings"
                + (f", {not_tracked} not run (not tracked by the source)" if not_tracked else "")
            )
            for message in self.failed.get(layer, []):
                out.append(f"      ✗ {message}")
            for message in self.warned.get(layer, []):
                out.append(f"      ! {message}")
        return out


def gate_summary(evaluations: Iterable) -> GateSummary:
    from dagster import AssetCheckSeverity

    from revops.quality import load_suites

    mart_checks = {(t, c.name) for t, s in load_suites("marts").items() for c in s.checks()}
    summary = GateSummary()
    for evaluation in evaluations:
        path = evaluation.asset_key.path
        if path[0] == "raw":
            layer = "raw gate"
        elif (path[-1], evaluation.check_name) in mart_checks:
            layer = "mart gate"
        else:
            layer = "dbt tests"
        name = f"{'/'.join(path)}:{evaluation.check_name}"
        status = (evaluation.metadata or {}).get("status")
        if getattr(status, "value", status) == "not_tracked":
            summary.not_tracked[layer] = summary.not_tracked.get(layer, 0) + 1
        elif evaluation.passed:
            summary.passed[layer] = summary.passed.get(layer, 0) + 1
        elif evaluation.severity == AssetCheckSeverity.ERROR:
            summary.failed.setdefault(layer, []).append(evaluation.description or f"{name} failed")
        else:
            summary.warned.setdefault(layer, []).append(evaluation.description or f"{name} warned")
    return summary


def _print_publish_log(settings: Settings, file=sys.stdout) -> None:
    from revops.publish import served_path
    from revops.state import read_publish_log

    log = read_publish_log(settings.state_path(), serve_dir=settings.serve_dir, limit=3)
    if not log:
        print(f"    nothing has been published to {served_path(settings.serve_dir)} yet", file=file)
        return
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


def _publish_outcome(instance, run_id: str) -> dict | None:
    """The metadata of this run's published_marts materialization (None: it did not run)."""
    from orchestration.publishing import PUBLISHED_KEY
    from orchestration.run_records import materialization_metadata

    return materialization_metadata(instance, run_id, PUBLISHED_KEY)


def _where_alerts_are(settings: Settings, run_id: str) -> str:
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


def run_pipeline(
    settings: Settings,
    *,
    instance=None,
    full_refresh: bool = False,
    allow_older: bool = False,
    only_if_newer: bool = False,
    entry_point: str = "revops run",
) -> int:
    """Materialize every asset; print the gate, what was published or why it stopped.

    Holds the build lock of the working warehouse throughout (re-entrant: a caller may
    hold it already). Returns the exit code: 0 built (and published, unless
    `only_if_newer` found the served marts newer), 1 failed, 75 another build holds the
    warehouse. `instance`: a Dagster instance (default: DAGSTER_HOME's)."""
    from revops.build_guard import BuildLockedError, WarehouseCorruptError, guarded_build

    settings = settings.for_run()  # as_of_date fixed once: what the run's steps receive
    try:
        with guarded_build(settings, entry_point):
            return _run_locked(
                settings,
                instance,
                full_refresh=full_refresh,
                allow_older=allow_older,
                only_if_newer=only_if_newer,
                entry_point=entry_point,
            )
    except BuildLockedError as error:
        print(f"revops: {error}", file=sys.stderr)
        return EXIT_BUILD_LOCKED
    except WarehouseCorruptError as error:
        print(f"revops: {error}", file=sys.stderr)
        return 1


def _run_locked(
    settings: Settings,
    instance,
    *,
    full_refresh: bool,
    allow_older: bool,
    only_if_newer: bool,
    entry_point: str,
) -> int:
    import dagster as dg

    from orchestration.definitions import defs

    as_of = settings.resolved_as_of_date()
    print(
        f"==> building the warehouse for as_of_date {as_of}\n"
        f"    source:         {settings.source_config().kind} at {settings.source_config().location}\n"
        f"    warehouse:      {settings.warehouse_path}\n"
        f"    serving folder: {settings.serve_dir}",
        flush=True,
    )
    started = time.monotonic()
    job = defs.resolve_job_def("revops_build")
    with dg.DagsterInstance.get() if instance is None else _borrowed(instance) as active:
        result = job.execute_in_process(
            run_config=_resource_config(
                settings, full_refresh=full_refresh, allow_older=allow_older, only_if_newer=only_if_newer
            ),
            instance=active,
            raise_on_error=False,
            tags={"revops/entry_point": entry_point},
        )
        outcome = _publish_outcome(active, result.run_id)
    published = outcome is not None
    seconds = time.monotonic() - started
    summary = gate_summary(result.get_asset_check_evaluations())
    messages = failure_messages(result)
    if result.success and not published:
        # every step that ran succeeded, yet publishing was skipped (an upstream step did
        # not produce what it depends on): that is a failed build, not a quiet success
        messages = [
            "published_marts did not run: a step before it finished without producing every "
            "asset or check it declares (see the run's STEP_SKIPPED events in the Dagster UI)"
        ]
    if not result.success or messages:
        print(f"\nThe build stopped after {seconds:.0f} s (run {result.run_id}):", file=sys.stderr)
        for message in messages or ["the run failed; see the Dagster UI"]:
            print(f"  - {message}", file=sys.stderr)
        print("\n==> quality gate", file=sys.stderr)
        for line in summary.lines():
            print(line, file=sys.stderr)
        print(
            "\n==> nothing was published: BI keeps reading the last good marts; "
            + _where_alerts_are(settings, result.run_id),
            file=sys.stderr,
        )
        _print_publish_log(settings, file=sys.stderr)
        return 1

    print(f"\n==> built in {seconds:.1f} s (run {result.run_id})")
    print(f"    warehouse: {settings.warehouse_path.resolve()}")
    for schema, name, rows in warehouse_summary(settings.warehouse_path):
        print(f"    {schema}.{name:<40} {rows:>12,} rows")
    print("\n==> quality gate")
    for line in summary.lines():
        print(line)
    if outcome.get("published") is False:
        print(f"\n==> built and gated, not published: {outcome.get('not_published_because')}")
    else:
        print("\n==> published")
    _print_publish_log(settings)
    print("    open the Dagster UI with `make dagster` to see the asset graph and checks")
    return 0


class _borrowed:
    """Use a caller's instance without closing it."""

    def __init__(self, instance):
        self.instance = instance

    def __enter__(self):
        return self.instance

    def __exit__(self, *exc):
        return False
