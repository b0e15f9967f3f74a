"""The jobs people run: the whole build, from landing files to marts."""

from __future__ import annotations

import dagster as dg

revops_build_job = dg.define_asset_job(
    name="revops_build",
    selection=dg.AssetSelection.all(),
    description=(
        "Load the landing folder into raw, then build and test every dbt model "
        "(staging, intermediate, marts)."
    ),
)
