"""Dagster resources: the warehouse connection every asset shares."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from revops.settings import Settings, database_setting, parse_as_of_date


class WarehouseResource(dg.ConfigurableResource):
    """The working DuckDB warehouse and the landing folder it loads from.

    Empty strings mean "from the environment" (see `revops.settings`), resolved when
    a run uses the resource, never at import time.
    """

    landing_dir: str = ""
    warehouse_path: str = ""
    raw_schema: str = ""
    as_of_date: str = ""
    source: str = ""
    source_database: str = ""
    source_schema: str = ""
    source_mapping: str = ""

    def settings(self) -> Settings:
        return Settings.from_env().with_overrides(
            source=self.source or None,
            source_database=database_setting(self.source_database),
            source_schema=self.source_schema or None,
            source_mapping=Path(self.source_mapping) if self.source_mapping else None,
            landing_dir=Path(self.landing_dir) if self.landing_dir else None,
            warehouse_path=Path(self.warehouse_path) if self.warehouse_path else None,
            raw_schema=self.raw_schema or None,
            as_of_date=parse_as_of_date(self.as_of_date),
        )

    def connect(self) -> duckdb.DuckDBPyConnection:
        path = self.settings().warehouse_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path))
