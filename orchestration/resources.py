"""Dagster resources: the warehouse connection every asset shares, and the build lock.

`WarehouseResource` holds the working warehouse's build lock (`revops.run_lock`) for as
long as the run's resources live: the whole run, since every step runs in the run's one
process (`in_process_executor`), however the run was launched (schedule, sensor, UI,
`revops run`). A run that finds another build holding it fails before its first step,
with one sentence naming the holder; a corrupt working warehouse fails the same way
with its recovery (see `revops.build_guard`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from revops.build_guard import guarded_build
from revops.settings import Settings, database_setting, parse_as_of_date


def _entry_point(context) -> str:
    run = getattr(context, "dagster_run", None)
    tags = dict(getattr(run, "tags", None) or {})
    if tags.get("revops/entry_point"):
        return tags["revops/entry_point"]
    if tags.get("dagster/schedule_name"):
        return f"Dagster schedule {tags['dagster/schedule_name']}"
    if tags.get("dagster/sensor_name"):
        return f"Dagster sensor {tags['dagster/sensor_name']}"
    return "a Dagster run"


class WarehouseResource(dg.ConfigurableResource):
    """The run's settings (`revops.settings.Settings`): the working DuckDB warehouse, the
    landing folder or connector it loads from, the day it describes, the gate's thresholds.

    The one way settings enter a run: empty strings mean "from the environment", read
    once when the run starts its resources (never at import time), with as_of_date fixed
    then, so every step of the run describes the same day (the schedule passes its
    scheduled day, the sensor and the CLI their own clock's). `full_refresh`: dbt rebuilds
    the incremental models from scratch (`dbt build --full-refresh`).
    """

    landing_dir: str = ""
    warehouse_path: str = ""
    raw_schema: str = ""
    as_of_date: str = ""
    source: str = ""
    source_database: str = ""
    source_schema: str = ""
    source_mapping: str = ""
    full_refresh: bool = False
    _run_settings: Settings | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        """The run's settings, as fixed when the run started (outside a run: read now)."""
        if self._run_settings is not None:
            return self._run_settings
        return self._read_settings()

    def _read_settings(self) -> Settings:
        return Settings.from_env(os.environ).with_overrides(
            source=self.source or None,
            source_database=database_setting(self.source_database),
            source_schema=self.source_schema or None,
            source_mapping=Path(self.source_mapping) if self.source_mapping else None,
            landing_dir=Path(self.landing_dir) if self.landing_dir else None,
            warehouse_path=Path(self.warehouse_path) if self.warehouse_path else None,
            raw_schema=self.raw_schema or None,
            as_of_date=parse_as_of_date(self.as_of_date),
        )

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        run_id = getattr(getattr(context, "dagster_run", None), "run_id", None)
        self._run_settings = self._read_settings().for_run()
        with guarded_build(self._run_settings, _entry_point(context), run_id=run_id):
            yield self

    def connect(self) -> duckdb.DuckDBPyConnection:
        path = self.settings().warehouse_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path))


class ServingResource(dg.ConfigurableResource):
    """The serving folder BI reads. Empty: REVOPS_SERVE_DIR (default data/serve), read at run time.

    `allow_older`: publish even when BI reads a newer as_of_date (refused by default).
    `only_if_newer`: publish only marts newer than the served ones, else build and gate
    without publishing (what a backfill does)."""

    serve_dir: str = ""
    allow_older: bool = False
    only_if_newer: bool = False

    def serve_dir_path(self) -> Path:
        if self.serve_dir:
            return Path(self.serve_dir)
        return Settings.from_env(os.environ).serve_dir
