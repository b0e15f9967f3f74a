"""Ingestion: one asset per CRM object, loading its landing file into `raw.<object>`.

The loading itself is `revops.landing` (plain Python and DuckDB); these assets run it
with the warehouse resource and report what happened. A file that cannot be loaded
fails its asset with the loader's readable message as the failure description, so
the UI and the run summary show the reason rather than a traceback.

No `from __future__ import annotations` here: Dagster reads the asset function's
annotations (context, resources) at definition time.
"""

import dagster as dg

from orchestration.resources import WarehouseResource
from revops.crm_contract import CRM_OBJECTS, CrmObject
from revops.landing import LandingFileError, load_landing_object


def _failure_metadata(error: LandingFileError) -> dict:
    metadata = {}
    for key, value in error.metadata().items():
        if isinstance(value, (list, dict)):
            metadata[key] = dg.MetadataValue.json(value)
        elif isinstance(value, int):
            metadata[key] = dg.MetadataValue.int(value)
        else:
            metadata[key] = dg.MetadataValue.text(str(value))
    return metadata


def _column_schema(obj: CrmObject, extra_columns: list[str]) -> dg.TableSchema:
    columns = [dg.TableColumn(name, type_name) for name, type_name in obj.columns.items()]
    columns += [dg.TableColumn(name, "VARCHAR", description="extra column of the file") for name in extra_columns]
    columns += [
        dg.TableColumn("_source_file", "VARCHAR", description="landing file the row came from"),
        dg.TableColumn("_source_row", "BIGINT", description="line in that file (row number for Parquet)"),
        dg.TableColumn("_loaded_at", "TIMESTAMP", description="when the load ran (UTC)"),
    ]
    return dg.TableSchema(columns=columns)


def build_ingestion_asset(obj: CrmObject) -> dg.AssetsDefinition:
    """The asset loading `obj`'s landing file into `raw.<obj.name>`."""

    @dg.asset(
        name=obj.name,
        key_prefix=["raw"],
        group_name="ingestion",
        kinds={"duckdb"},
        description=f"{obj.description} Loaded from the landing file {obj.name}.csv or .parquet.",
        metadata={"required_columns": dg.MetadataValue.json(obj.required_columns)},
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        settings = warehouse.settings()
        context.log.info(f"loading {obj.name} from {settings.landing_dir} into {settings.raw_schema}.{obj.name}")
        with warehouse.connect() as con:
            try:
                result = load_landing_object(
                    con, obj, settings.landing_dir, raw_schema=settings.raw_schema
                )
            except LandingFileError as error:
                context.log.error(str(error))
                raise dg.Failure(description=str(error), metadata=_failure_metadata(error)) from None
        context.log.info(
            f"loaded {result.row_count:,} rows from {result.source_file.name} into {result.table} "
            f"in {result.seconds:.1f}s"
            + (f"; extra columns kept: {', '.join(result.extra_columns)}" if result.extra_columns else "")
        )
        return dg.MaterializeResult(
            metadata={
                "row_count": dg.MetadataValue.int(result.row_count),
                "dagster/row_count": dg.MetadataValue.int(result.row_count),
                "source_file": dg.MetadataValue.path(str(result.source_file)),
                "extra_columns": dg.MetadataValue.json(result.extra_columns),
                "seconds": dg.MetadataValue.float(result.seconds),
                "table": dg.MetadataValue.text(result.table),
                "dagster/column_schema": _column_schema(obj, result.extra_columns),
            }
        )

    return _load


ingestion_assets: list[dg.AssetsDefinition] = [build_ingestion_asset(obj) for obj in CRM_OBJECTS.values()]
