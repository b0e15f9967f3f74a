"""The ingestion assets, materialized with Dagster on a tmp landing folder and warehouse."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.ingestion import ingestion_assets
from orchestration.resources import WarehouseResource
from revops.crm_contract import CRM_OBJECTS

SAMPLE_VALUES = {
    "VARCHAR": "x",
    "BOOLEAN": "true",
    "BIGINT": "40",
    "DOUBLE": "1000",
    "DATE": "2024-01-31",
    "TIMESTAMP": "2024-01-31T10:00:00Z",
}


def write_landing_folder(folder: Path, rows: int = 3) -> None:
    """A valid file per object: `rows` rows of one sample value per declared type."""
    folder.mkdir(parents=True, exist_ok=True)
    for obj in CRM_OBJECTS.values():
        lines = [",".join(obj.required_columns)]
        for i in range(rows):
            lines.append(
                ",".join(f"{obj.name}-{i}" if c == "id" else SAMPLE_VALUES[t] for c, t in obj.columns.items())
            )
        (folder / f"{obj.name}.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture
def paths(tmp_path) -> tuple[Path, Path]:
    landing = tmp_path / "landing"
    write_landing_folder(landing)
    return landing, tmp_path / "warehouse" / "build.duckdb"


def materialize(landing: Path, warehouse: Path, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ingestion_assets,
        resources={"warehouse": WarehouseResource(landing_dir=str(landing), warehouse_path=str(warehouse))},
        **kwargs,
    )


def test_one_asset_per_crm_object_in_the_ingestion_group():
    specs = [spec for asset in ingestion_assets for spec in asset.specs]
    assert [spec.key for spec in specs] == [
        *(dg.AssetKey(["raw", name]) for name in CRM_OBJECTS),
        dg.AssetKey(["raw", "_source_coverage"]),
    ]
    for spec, obj in zip(specs, CRM_OBJECTS.values(), strict=False):
        assert spec.group_name == "ingestion"
        assert spec.kinds == {"duckdb"}
        assert obj.description in spec.description
    assert all("warehouse" in asset.required_resource_keys for asset in ingestion_assets)


def _materialization(result, name: str):
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(["raw", name])
    ]
    return event.materialization


def test_materializing_loads_every_object_into_raw(paths):
    landing, warehouse = paths

    result = materialize(landing, warehouse)

    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for name in CRM_OBJECTS:
            assert con.execute(f'select count(*) from raw."{name}"').fetchone()[0] == 3
        assert con.execute("select count(*) from raw._load_log").fetchone()[0] == len(CRM_OBJECTS)
        assert con.execute("select bool_and(is_tracked) from raw._source_coverage").fetchone()[0] is True
    metadata = _materialization(result, "opportunity").metadata
    assert metadata["row_count"].value == 3
    assert metadata["source_file"].value == "opportunity.csv"
    assert metadata["source"].value == "salesforce_files"
    assert metadata["not_tracked"].value == []
    assert metadata["extra_columns"].value == []
    assert metadata["seconds"].value >= 0


def test_a_bad_file_fails_ingestion_with_the_readable_message(paths):
    landing, warehouse = paths
    text = (landing / "opportunity.csv").read_text().splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("amount")] = "lots"
    (landing / "opportunity.csv").write_text("\n".join([text[0], text[1], ",".join(row)]) + "\n")

    result = materialize(landing, warehouse, raise_on_error=False)

    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["ingest_crm_source"]
    failure = failures[0].step_failure_data.user_failure_data
    assert failure is not None
    assert str(landing / "opportunity.csv") in failure.description
    assert "column amount should be a number" in failure.description
    assert "line 3: 'lots'" in failure.description
    assert failure.metadata["columns"].value == ["amount"]
    assert failure.metadata["bad_row_count"].value == 1


def test_a_missing_required_file_fails_with_what_was_expected(paths):
    landing, warehouse = paths
    (landing / "opportunity.csv").unlink()

    result = materialize(landing, warehouse, raise_on_error=False)

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    description = failure.step_failure_data.user_failure_data.description
    assert f"No landing file for opportunity in {landing}" in description
    assert "opportunity.csv" in description


def test_a_missing_optional_file_is_an_empty_input_reported_as_not_tracked(paths):
    landing, warehouse = paths
    materialize(landing, warehouse)  # a first load with quotas
    (landing / "forecasting_quota.csv").unlink()

    result = materialize(landing, warehouse)

    assert result.success
    metadata = _materialization(result, "forecasting_quota").metadata
    assert metadata["row_count"].value == 0
    assert metadata["is_present"].value is False
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # the previous load's quotas are gone, not left behind
        assert con.execute("select count(*) from raw.forecasting_quota").fetchone()[0] == 0
        assert [r[0] for r in con.execute("describe raw.forecasting_quota").fetchall()][:4] == list(
            CRM_OBJECTS["forecasting_quota"].columns
        )
        rows = con.execute(
            "select distinct is_tracked, row_count, mapped_from from raw._source_coverage "
            "where object_name = 'forecasting_quota'"
        ).fetchall()
    assert rows == [(False, 0, None)]
