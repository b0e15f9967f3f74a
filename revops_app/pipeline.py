"""Run the whole build once, in this process, recorded in the local Dagster instance."""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from pathlib import Path

from revops.settings import Settings
from revops_app.run_output import StepProgress, log_path_for, logs_to_file
from revops_app.run_report import (
    GateSummary,
    StepFailure,
    failure_messages,
    failure_paragraphs,
    gate_summary,
    paragraph,
    print_publish_log,
    step_failures,
    warehouse_lines,
    warehouse_summary,
    where_alerts_are,
)

__all__ = [
    "EXIT_BUILD_LOCKED",
    "GateSummary",
    "failure_messages",
    "gate_summary",
    "run_pipeline",
    "warehouse_summary",
]


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


def _publish_outcome(instance, run_id: str) -> dict | None:
    """The metadata of this run's published_marts materialization (None: it did not run)."""
    from orchestration.publishing import PUBLISHED_KEY
    from orchestration.run_records import materialization_metadata

    return materialization_metadata(instance, run_id, PUBLISHED_KEY)


def run_pipeline(
    settings: Settings,
    *,
    instance=None,
    full_refresh: bool = False,
    allow_older: bool = False,
    only_if_newer: bool = False,
    entry_point: str = "revops run",
    quiet: bool = False,
) -> int:
    """Materialize every asset; print the gate, what was published or why it stopped.

    Holds the build lock of the working warehouse throughout (re-entrant: a caller may
    hold it already). Returns the exit code: 0 built (and published, unless
    `only_if_newer` found the served marts newer), 1 failed, 75 another build holds the
    warehouse. `instance`: a Dagster instance (default: DAGSTER_HOME's). `quiet`: one line
    per step on the terminal, Dagster's and dbt's logs (and stack traces) in
    `<warehouse>.logs/run-<id>.log`, whose path is printed; otherwise everything is
    printed as it comes."""
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
                quiet=quiet,
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
    quiet: bool,
) -> int:
    import dagster as dg

    as_of = settings.resolved_as_of_date()
    run_id = str(uuid.uuid4())  # known before the run starts: the log file and the listener use it
    log_path = log_path_for(settings.warehouse_path, run_id) if quiet else None
    print(
        f"==> building the warehouse for as_of_date {as_of} (run {run_id})\n"
        f"    source:         {settings.source_config().kind} at {settings.source_config().location}\n"
        f"    warehouse:      {settings.warehouse_path}\n"
        f"    serving folder: {settings.serve_dir}"
        + (f"\n    log file:       {log_path}" if log_path else ""),
        flush=True,
    )
    started = time.monotonic()
    with logs_to_file(log_path) if log_path else _terminal_streams() as (out, _err):
        from orchestration.dbt_assets import revops_dbt_models
        from orchestration.definitions import defs

        job = defs.resolve_job_def("revops_build")
        progress = StepProgress(out, (len(revops_dbt_models.keys), len(revops_dbt_models.check_keys)))
        with dg.DagsterInstance.get() if instance is None else _borrowed(instance) as active:
            active.add_event_listener(run_id, progress)
            result = job.execute_in_process(
                run_config=_resource_config(
                    settings, full_refresh=full_refresh, allow_older=allow_older, only_if_newer=only_if_newer
                ),
                instance=active,
                raise_on_error=False,
                run_id=run_id,
                tags={"revops/entry_point": entry_point},
            )
            outcome = _publish_outcome(active, result.run_id)
    published = outcome is not None
    seconds = time.monotonic() - started
    summary = gate_summary(result.get_asset_check_evaluations())
    failures = step_failures(result)
    if result.success and not published:
        # every step that ran succeeded, yet publishing was skipped (an upstream step did
        # not produce what it depends on): that is a failed build, not a quiet success
        failures = [
            StepFailure(
                "published_marts",
                "it did not run: a step before it finished without producing every asset or check it "
                "declares (see the run's STEP_SKIPPED events in the Dagster UI).",
            )
        ]
    if not result.success or failures:
        err = sys.stderr
        not_run = progress.not_run()
        print(
            f"\nThe build failed after {seconds:.0f} s (run {result.run_id})"
            + (f"; not run: {', '.join(not_run)}" if not_run else "")
            + ":",
            file=err,
        )
        paragraphs = failure_paragraphs(summary, failures, log_path) or [
            paragraph(f"the run failed without a readable reason; see {log_path or 'the Dagster UI'}.")
        ]
        print("\n\n".join(paragraphs), file=err)
        print("\n==> quality gate", file=err)
        for line in summary.lines(with_failures=False):
            print(line, file=err)
        print(
            "\n==> nothing was published: BI keeps reading the last good marts; "
            + where_alerts_are(settings, result.run_id),
            file=err,
        )
        print_publish_log(settings, file=err)
        if log_path:
            print(f"    log: {log_path}", file=err)
        return 1

    print(f"\n==> built in {seconds:.1f} s (run {result.run_id})")
    print(f"    warehouse: {settings.warehouse_path.resolve()}")
    for line in warehouse_lines(settings.warehouse_path):
        print(line)
    print("\n==> quality gate")
    for line in summary.lines():
        print(line)
    if outcome.get("published") is False:
        print(f"\n==> built and gated, not published: {outcome.get('not_published_because')}")
    else:
        print("\n==> published")
    print_publish_log(settings)
    if log_path:
        print(f"    log: {log_path}")
    print("    open the Dagster UI with `make dagster` to see the asset graph and checks")
    return 0


@contextlib.contextmanager
def _terminal_streams():
    """--verbose: everything on the terminal, as it comes."""
    yield sys.stdout, sys.stderr


class _borrowed:
    """Use a caller's instance without closing it."""

    def __init__(self, instance):
        self.instance = instance

    def __enter__(self):
        return self.instance

    def __exit__(self, *exc):
        return False
