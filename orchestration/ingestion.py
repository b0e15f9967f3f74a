"""Ingestion: the configured CRM source conformed into `raw.<object>`, one asset per object.

The work is `revops.sources` (plain Python and DuckDB): the landing folder, a Fivetran
Salesforce schema or Fivetran's HubSpot schema becomes the contract's raw tables and
`raw._source_coverage`. One step materializes every `raw/<object>` asset (a HubSpot deal needs
several source tables, and one connection is cheaper than eight). On the postgres target
(REVOPS_DBT_TARGET) the raw tables are then copied into PostgreSQL, where the raw gate
validates them in place and dbt builds (`revops.warehouse_targets.copy_raw_to_postgres`). A source that cannot be read
fails the step with the readable message as the failure description, so the UI and the run
summary show the reason rather than a traceback.

No `from __future__ import annotations` here: Dagster reads the asset function's
annotations (context, resources) at definition time.
"""

import dagster as dg

from orchestration.resources import WarehouseResource
from orchestration.source_fingerprint import COVERAGE_KEY, SOURCE_FINGERPRINT_KEY, source_fingerprint
from revops.crm_contract import CRM_OBJECTS, CrmObject
from revops.landing import LandingFileError
from revops.quality import preload_great_expectations
from revops.sources import MappingError, SourceError, ingest_source
from revops.warehouse_targets import copy_raw_to_target, dbt_target


def _failure_metadata(error: Exception) -> dict:
    metadata = {}
    raw = error.metadata() if isinstance(error, LandingFileError) else {}
    for key, value in raw.items():
        if isinstance(value, (list, dict)):
            metadata[key] = dg.MetadataValue.json(value)
        elif isinstance(value, int):
            metadata[key] = dg.MetadataValue.int(value)
        else:
            metadata[key] = dg.MetadataValue.text(str(value))
    return metadata


def _column_schema(obj: CrmObject, extra_columns: list[str], tracked: dict[str, bool]) -> dg.TableSchema:
    columns = [
        dg.TableColumn(
            name,
            type_name,
            description=None if tracked.get(name, True) else "not tracked by the source: all NULL",
        )
        for name, type_name in obj.columns.items()
    ]
    columns += [
        dg.TableColumn(name, "VARCHAR", description="extra column of the file") for name in extra_columns
    ]
    columns += [
        dg.TableColumn("_source_file", "VARCHAR", description="file or source table the row came from"),
        dg.TableColumn(
            "_source_row", "BIGINT", description="line in that file (row number for Parquet and tables)"
        ),
        dg.TableColumn("_loaded_at", "TIMESTAMP", description="when the load ran (UTC)"),
    ]
    return dg.TableSchema(columns=columns)


def _raw_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", name])


def _landing_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", name])


# What ingestion reads, outside Dagster's control: the CRM export's files (or a connector's
# tables), one external asset per object, upstream of its raw table.
landing_specs = [
    dg.AssetSpec(
        _landing_key(obj.name),
        group_name="landing",
        description=(
            f"The CRM export of {obj.name}: {obj.name}.csv or .parquet in the landing folder "
            "(REVOPS_LANDING_DIR), or the connector's table (REVOPS_SOURCE). Written by the export, "
            "not by Dagster; the landing-file sensor watches it."
        ),
        kinds={"csv", "parquet"},
    )
    for obj in CRM_OBJECTS.values()
]


@dg.multi_asset(
    name="ingest_crm_source",
    group_name="ingestion",
    specs=[
        dg.AssetSpec(
            _raw_key(obj.name),
            description=(
                f"{obj.description} From the configured source (REVOPS_SOURCE: the landing file "
                f"{obj.name}.csv or .parquet, or a connector's table), in the contract's columns and types."
            ),
            kinds={"duckdb"},
            deps=[_landing_key(obj.name)],
            metadata={"contract_columns": dg.MetadataValue.json(obj.required_columns)},
        )
        for obj in CRM_OBJECTS.values()
    ]
    + [
        dg.AssetSpec(
            COVERAGE_KEY,
            description=(
                "What the source had: one row per contract column (is_tracked, row_count, mapped_from); "
                "the models read it to tell not tracked from zero."
            ),
            kinds={"duckdb"},
        )
    ],
)
def ingest_crm_source(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    config = settings.source_config()
    preload_great_expectations()  # the gate's seconds of imports, while DuckDB loads the files
    # what this run reads, as the landing-file sensor sees it: recorded on the coverage
    # asset, so the sensor's next tick knows these files are built (whoever started the run)
    fingerprint, watched = source_fingerprint(settings)
    context.log.info(f"ingesting {config.kind} from {config.location} into {settings.raw_schema}")
    with warehouse.connect() as con:
        try:
            report = ingest_source(
                con,
                config,
                raw_schema=settings.raw_schema,
                progress=context.log.info,
                full_refresh=warehouse.full_refresh,
            )
        except (LandingFileError, SourceError, MappingError) as error:
            context.log.error(str(error))
            raise dg.Failure(description=str(error), metadata=_failure_metadata(error)) from None
    target = dbt_target()
    if target == "postgres":  # the gate and dbt work where the warehouse is (Spark: dbt_assets)
        with warehouse.connect() as con:
            try:
                copied = copy_raw_to_target(con, target, settings.raw_schema)
            except Exception as error:  # the server down, a type without a counterpart
                message = f"copying the raw tables to PostgreSQL failed: {type(error).__name__}: {error}"
                context.log.error(message)
                raise dg.Failure(description=message) from None
        context.log.info(
            f"copied {len(copied)} raw tables to {target} for the raw gate and dbt: "
            + ", ".join(f"{c.table} ({c.row_count:,} rows, {c.seconds:.1f}s)" for c in copied)
        )
    for notice in report.notices:
        context.log.warning(f"not tracked: {notice}")
    for load in report.loads:
        obj = CRM_OBJECTS[load.object_name]
        tracked = {r.column_name: r.is_tracked for r in report.coverage if r.object_name == obj.name}
        yield dg.MaterializeResult(
            asset_key=_raw_key(obj.name),
            metadata={
                "row_count": dg.MetadataValue.int(load.row_count),
                "dagster/row_count": dg.MetadataValue.int(load.row_count),
                "source": dg.MetadataValue.text(config.kind),
                "source_file": dg.MetadataValue.text(load.source or "(not in the source)"),
                "is_present": dg.MetadataValue.bool(load.is_present),
                "not_tracked": dg.MetadataValue.json(sorted(c for c, t in tracked.items() if not t)),
                "extra_columns": dg.MetadataValue.json(load.extra_columns),
                "seconds": dg.MetadataValue.float(load.seconds),
                "load_mode": dg.MetadataValue.text(load.load_mode or "reloaded"),
                "load_counts": dg.MetadataValue.json(load.counts or {}),
                "skipped_files": dg.MetadataValue.json(load.skipped_files),
                "table": dg.MetadataValue.text(load.table),
                "dagster/column_schema": _column_schema(obj, load.extra_columns, tracked),
            },
        )
    untracked = [r for r in report.coverage if not r.is_tracked]
    yield dg.MaterializeResult(
        asset_key=COVERAGE_KEY,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(report.coverage)),
            "not_tracked": dg.MetadataValue.json(report.notices),
            "untracked_columns": dg.MetadataValue.int(len(untracked)),
            SOURCE_FINGERPRINT_KEY: dg.MetadataValue.json({"watched": watched, "fingerprint": fingerprint}),
        },
    )


ingestion_assets: list[dg.AssetsDefinition] = [ingest_crm_source]
