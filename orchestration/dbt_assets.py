"""The dbt models as Dagster assets; dbt tests run with them as asset checks.

Sources map onto the ingestion assets' keys (`raw/<object>`), so the asset graph shows
the lineage landing file -> raw table -> staging -> marts. Groups follow the model
folders (staging, intermediate, marts, reference for seeds).

The warehouse dbt builds in is a setting, REVOPS_DBT_TARGET (`duckdb`, the default,
`postgres` or `spark`; profiles.yml reads the same variable). Ingestion and the raw gate
always work in the DuckDB build file; on another target this asset first copies the
gated raw tables there, then `dbt build` runs there, then the marts are copied back
into the build file, where the mart gate and the publisher read them as on DuckDB.
"""


import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.dbt_project import prune_invocation_dirs, revops_dbt_project
from orchestration.resources import WarehouseResource
from revops.settings import Settings
from revops.warehouse_targets import copy_raw_to_target, dbt_target, pull_tables_from_target


class RevOpsDbtTranslator(DagsterDbtTranslator):
    """Keys sources as the ingestion assets do and groups models by folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        # fqn: [project, folder, ..., model]; the top folder is the layer
        return fqn[1] if len(fqn) > 2 else "dbt"


def dbt_vars(settings: Settings) -> list[str]:
    """The vars that tie dbt to the run's settings; as_of_date is always explicit so
    the Python checks and the models describe the same day."""
    variables = {
        "raw_schema": settings.raw_schema,
        "as_of_date": settings.resolved_as_of_date().isoformat(),
    }
    return ["--vars", json.dumps(variables)]


@dbt_assets(
    manifest=revops_dbt_project.manifest_path,
    project=revops_dbt_project,
    dagster_dbt_translator=RevOpsDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
)
def revops_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """Seeds, models and their tests in dependency order (`dbt build`)."""
    settings = warehouse.settings()
    # profiles.yml reads the warehouse path and target from the environment, which the
    # dbt subprocess inherits from this run's process
    os.environ["REVOPS_WAREHOUSE_PATH"] = str(settings.warehouse_path.resolve())
    target = dbt_target()
    if target != "duckdb":
        with warehouse.connect() as con:
            copied = copy_raw_to_target(con, target, settings.raw_schema)
        context.log.info(
            f"copied {len(copied)} raw tables to {target}: "
            + ", ".join(f"{c.table} ({c.row_count:,} rows, {c.seconds:.1f}s)" for c in copied)
        )
    full_refresh = ["--full-refresh"] if warehouse.full_refresh else []
    invocation = dbt.cli(["build", "--target", target, *full_refresh, *dbt_vars(settings)], context=context)
    yield from invocation.stream()
    prune_invocation_dirs(invocation.target_path.parent)
    if target != "duckdb":
        marts = {
            f"{node['schema']}.{node['alias']}": list(node["columns"])
            for node in invocation.manifest["nodes"].values()
            if node["resource_type"] == "model"
            and (
                node["original_file_path"].startswith("../models/marts/")
                or node["name"] in MODELS_READ_BY_PUBLISHING
            )
        }
        with warehouse.connect() as con:
            pulled = pull_tables_from_target(con, target, marts)
        context.log.info(
            f"copied {len(pulled)} tables from {target} into the build file for the gate and publishing: "
            + ", ".join(f"{p.table} ({p.row_count:,} rows)" for p in pulled)
        )


# models outside marts/ that publishing reads (the hygiene digest's managers)
MODELS_READ_BY_PUBLISHING = {"stg_salesforce__users"}
