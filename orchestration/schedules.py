"""When the build runs: every morning before the working day, and when new CRM files land.

The schedule's time and time zone are settings (`Settings.schedule_cron`, env
REVOPS_SCHEDULE_CRON, default "0 6 * * *", and `Settings.schedule_timezone`,
REVOPS_SCHEDULE_TIMEZONE, default "UTC"), from the settings value `definitions.py` builds
(Dagster needs a schedule's cron when it loads the definitions). The sensor fingerprints
the landing folder (name, size, modification time of each file) on every tick, reading
the source from the warehouse resource, and asks for a run only when that fingerprint
changed since the last run it asked for, or since the last run of any kind ingested them
(the ingestion asset records what it read, so a `revops run` is not built again). dagster.yaml's run queue lets one run go at a
time (DuckDB has one writer), so a run asked for during a build waits for it.

Each run's as_of_date is fixed when it is asked for: the schedule's is the UTC date of its
scheduled time, the sensor's the UTC date of its tick; both go to the warehouse resource
as run config (and the tag `revops/as_of_date`), so every step describes that day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import dagster as dg

from orchestration.resources import WarehouseResource
from orchestration.source_fingerprint import landing_fingerprint, last_ingested, source_fingerprint
from revops.settings import Settings

__all__ = ["AS_OF_TAG", "as_of_run_config", "landing_fingerprint", "source_fingerprint", "utc_date"]

AS_OF_TAG = "revops/as_of_date"


def as_of_run_config(as_of_date: dt.date) -> dict:
    """The run config that fixes a run's as_of_date."""
    return {"resources": {"warehouse": {"config": {"as_of_date": as_of_date.isoformat()}}}}


def utc_date(moment: dt.datetime) -> dt.date:
    """The UTC date of a moment (naive moments are UTC)."""
    return moment.astimezone(dt.UTC).date() if moment.tzinfo else moment.date()


def build_daily_schedule(job: Any, settings: Settings) -> dg.ScheduleDefinition:
    """The daily build; cron, time zone and a fixed as_of_date from `settings` (the value
    `definitions.py` builds once when the definitions load)."""

    @dg.schedule(
        name="revops_daily_build",
        job=job,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="The daily build before the working day (REVOPS_SCHEDULE_CRON / _TIMEZONE).",
    )
    def revops_daily_build(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        # a fixed REVOPS_AS_OF_DATE wins, as it does for every other run
        as_of = settings.as_of_date or utc_date(context.scheduled_execution_time or dt.datetime.now(dt.UTC))
        return dg.RunRequest(run_config=as_of_run_config(as_of), tags={AS_OF_TAG: as_of.isoformat()})

    return revops_daily_build


def build_landing_sensor(job: Any) -> dg.SensorDefinition:
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
    def landing_files_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        fingerprint, watched = source_fingerprint(warehouse.settings())
        if not fingerprint:
            return dg.SkipReason(f"nothing to watch: {watched}")
        encoded = json.dumps(fingerprint, sort_keys=True)
        if encoded == context.cursor:
            return dg.SkipReason(f"{watched}: unchanged since the last run")
        built_by = last_ingested(context, watched, fingerprint)
        if built_by is not None:
            # a run this sensor did not ask for (`revops run`, the schedule, the UI) read these files
            context.update_cursor(encoded)
            return dg.SkipReason(f"{watched}: unchanged since run {built_by[:8]} ingested them")
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(name for name, stamp in fingerprint.items() if previous.get(name) != stamp)
        context.update_cursor(encoded)
        context.log.info(f"{watched}: new or changed: {', '.join(changed) or 'removed files'}")
        as_of = warehouse.settings().resolved_as_of_date()  # the tick's clock, once
        return dg.RunRequest(
            run_key=hashlib.sha256(encoded.encode()).hexdigest()[:16],
            run_config=as_of_run_config(as_of),
            tags={"revops/trigger": "landing_files", AS_OF_TAG: as_of.isoformat()},
        )

    return landing_files_sensor
