"""Run the whole build once, in this process, recorded in the local Dagster instance."""

from __future__ import annotations

import sys
import time

import duckdb

from revops.settings import Settings


def _resource_config(settings: Settings) -> dict:
    return {
        "resources": {
            "warehouse": {
                "config": {
                    "landing_dir": str(settings.landing_dir.resolve()),
                    "warehouse_path": str(settings.warehouse_path.resolve()),
                    "raw_schema": settings.raw_schema,
                    "as_of_date": settings.resolved_as_of_date().isoformat(),
                }
            }
        }
    }


def failure_messages(result) -> list[str]:
    """The readable reason of every failed step of a Dagster run."""
    messages = []
    for event in result.all_events:
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


def run_pipeline(settings: Settings) -> int:
    """Materialize every asset; print what was built or why it stopped. Returns the exit code."""
    import dagster as dg

    from orchestration.definitions import defs

    as_of = settings.resolved_as_of_date()
    print(
        f"==> building the warehouse for as_of_date {as_of}\n"
        f"    landing folder: {settings.landing_dir}\n"
        f"    warehouse:      {settings.warehouse_path}",
        flush=True,
    )
    started = time.monotonic()
    job = defs.resolve_job_def("revops_build")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=_resource_config(settings), instance=instance, raise_on_error=False
        )
    seconds = time.monotonic() - started
    if not result.success:
        print(f"\nThe build stopped after {seconds:.0f} s (run {result.run_id}):", file=sys.stderr)
        for message in failure_messages(result) or ["the run failed; see the Dagster UI"]:
            print(f"  - {message}", file=sys.stderr)
        return 1

    print(f"\n==> built in {seconds:.1f} s (run {result.run_id})")
    print(f"    warehouse: {settings.warehouse_path.resolve()}")
    for schema, name, rows in warehouse_summary(settings.warehouse_path):
        print(f"    {schema}.{name:<40} {rows:>12,} rows")
    print("    open the Dagster UI with `make dagster` to see the asset graph and checks")
    return 0
