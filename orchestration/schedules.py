"""When the build runs: every morning before the working day, and when new CRM files land.

The schedule's time and time zone are settings (REVOPS_SCHEDULE_CRON, default
"0 6 * * *", and REVOPS_SCHEDULE_TIMEZONE, default "UTC"), read when the definitions are
built. The sensor fingerprints the landing folder (name, size, modification time of each
file) on every tick and asks for a run only when that fingerprint changed since the last
run it asked for. dagster.yaml's run queue lets one run go at a time (DuckDB has one
writer), so a run asked for during a build waits for it.
"""

import hashlib
import json
import os
from pathlib import Path

import dagster as dg

from revops.paths import LANDING_SUFFIXES
from revops.settings import Settings

DEFAULT_CRON = "0 6 * * *"
DEFAULT_TIMEZONE = "UTC"


def landing_fingerprint(landing_dir: Path) -> dict[str, list]:
    """{file name: [size, mtime_ns]} for the landing files (hidden files ignored)."""
    if not landing_dir.is_dir():
        return {}
    fingerprint = {}
    for path in sorted(landing_dir.iterdir()):
        if path.name.startswith(".") or not path.name.lower().endswith(LANDING_SUFFIXES):
            continue
        stat = path.stat()
        fingerprint[path.name] = [stat.st_size, stat.st_mtime_ns]
    return fingerprint


def source_fingerprint(settings: Settings) -> tuple[dict[str, list], str]:
    """(fingerprint, what is watched) of the configured source: the landing folder's files,
    or the DuckDB file holding a connector's schema. A PostgreSQL source has no file to
    watch: the schedule builds it."""
    config = settings.source_config()
    if config.kind == "salesforce_files":
        return landing_fingerprint(settings.landing_dir), f"landing files in {settings.landing_dir}"
    if config.is_postgres or config.database is None:
        return {}, f"{config.kind} at {config.location} (no file to watch: the daily schedule builds it)"
    database = Path(config.database)
    fingerprint = {}
    for path in (database, database.with_name(database.name + ".wal")):
        if path.exists():
            stat = path.stat()
            fingerprint[path.name] = [stat.st_size, stat.st_mtime_ns]
    return fingerprint, f"the {config.kind} database {database}"


def build_daily_schedule(job) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="revops_daily_build",
        job=job,
        cron_schedule=os.environ.get("REVOPS_SCHEDULE_CRON") or DEFAULT_CRON,
        execution_timezone=os.environ.get("REVOPS_SCHEDULE_TIMEZONE") or DEFAULT_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="The daily build before the working day (REVOPS_SCHEDULE_CRON / _TIMEZONE).",
    )


def build_landing_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(
        name="revops_landing_files_sensor",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Starts a build when the source's files are new or changed: the landing folder's, or the "
            "DuckDB file holding a connector's schema."
        ),
    )
    def landing_files_sensor(context: dg.SensorEvaluationContext):
        fingerprint, watched = source_fingerprint(Settings.from_env())
        if not fingerprint:
            return dg.SkipReason(f"nothing to watch: {watched}")
        encoded = json.dumps(fingerprint, sort_keys=True)
        if encoded == context.cursor:
            return dg.SkipReason(f"{watched}: unchanged since the last run")
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(name for name, stamp in fingerprint.items() if previous.get(name) != stamp)
        context.update_cursor(encoded)
        context.log.info(f"{watched}: new or changed: {', '.join(changed) or 'removed files'}")
        return dg.RunRequest(
            run_key=hashlib.sha256(encoded.encode()).hexdigest()[:16],
            tags={"revops/trigger": "landing_files"},
        )

    return landing_files_sensor
