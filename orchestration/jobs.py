"""The jobs people run: the whole build, from landing files to published marts."""

from __future__ import annotations

import dagster as dg

from orchestration.alerts import alert_on_failure

revops_build_job = dg.define_asset_job(
    name="revops_build",
    selection=dg.AssetSelection.all(),
    description=(
        "Load the landing folder into raw, validate the raw tables (quality gate), build "
        "and test every dbt model (staging, intermediate, marts), validate the marts, then "
        "publish them atomically to the serving folder and send the hygiene digest. Any "
        "failed step raises an alert (webhook + main.alerts) and publishes nothing."
    ),
    hooks={alert_on_failure},
)
