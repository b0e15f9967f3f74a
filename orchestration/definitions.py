"""Assembles the warehouse's Dagster definitions; the pieces live in their own modules."""

from __future__ import annotations

import os

import dagster as dg

from orchestration.alerts import AlertingResource
from orchestration.dbt_assets import mart_asset_keys, revops_dbt_models
from orchestration.dbt_project import dbt_resource
from orchestration.ingestion import ingestion_assets, landing_specs
from orchestration.jobs import revops_build_job
from orchestration.publishing import published_marts
from orchestration.quality_checks import quality_checks
from orchestration.quality_gates import build_gate_assets
from orchestration.resources import ServingResource, WarehouseResource
from orchestration.schedules import build_daily_schedule, build_landing_sensor
from revops.settings import Settings

# The one read of the environment in the definitions: the settings when they load, for
# what Dagster needs then (the schedule's cron, time zone and a fixed as_of_date). A run
# reads its own when it starts (WarehouseResource.settings(), fixed for the run), and the
# steps and the failure hook take every setting from there, the alert webhook included.
load_settings = Settings.from_env(os.environ)

gate_assets = build_gate_assets(
    [key for asset in ingestion_assets for key in asset.keys], mart_asset_keys().values()
)

defs = dg.Definitions(
    assets=[*landing_specs, *ingestion_assets, *gate_assets, revops_dbt_models, published_marts],
    asset_checks=quality_checks,
    jobs=[revops_build_job],
    schedules=[build_daily_schedule(revops_build_job, load_settings)],
    sensors=[build_landing_sensor(revops_build_job)],
    resources={
        "warehouse": WarehouseResource(),
        "dbt": dbt_resource(),
        "serving": ServingResource(),
        "alerting": AlertingResource(),
    },
    # DuckDB has one writer: the steps of a run go one after another in one process
    executor=dg.in_process_executor,
)
