"""Mapping files on a real landing folder: renamed custom fields give the contract's raw
tables (and so the same marts), and pass-through fields reach dim_deal_custom_fields."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest
from conftest import run_dbt

from revops.crm_contract import CRM_OBJECTS
from revops.sources import SourceConfig, SourceError, ingest_source
from revops_demo import generate_demo_data

AS_OF = dt.date(2026, 11, 23)
LOADED_AT = dt.datetime(2026, 11, 23, 6, 0)
RENAMED = {
    "next_step_date_c": "Next_Meeting__c",
    "trigger_event_c": "Buying_Trigger__c",
    "technical_fit_c": "Fit__c",
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mapping_landing")
    generate_demo_data(folder, deals=200, reps=5, months=12, as_of_date=AS_OF, seed=3)
    return folder


def _rewrite_opportunities(
    source: Path, target: Path, rename: dict[str, str], extra: str | None = None
) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.csv"):
        if path.name != "opportunity.csv":
            (target / path.name).write_bytes(path.read_bytes())
    with open(source / "opportunity.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = [rename.get(c, c) for c in rows[0]]
    body = rows[1:]
    if extra:
        header.append(extra)
        body = [[*row, f"region-{i % 3}"] for i, row in enumerate(body)]
    with open(target / "opportunity.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *body])


def _raw(con) -> dict[str, list[tuple]]:
    return {
        name: con.execute(
            f'select {", ".join(chr(34) + c + chr(34) for c in obj.columns)} from raw."{name}" order by all'
        ).fetchall()
        for name, obj in CRM_OBJECTS.items()
    }


def test_renamed_custom_fields_with_a_mapping_give_the_contracts_raw_tables(tmp_path, landing):
    renamed = tmp_path / "renamed"
    _rewrite_opportunities(landing, renamed, RENAMED)
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "source: salesforce_files\nobjects:\n  opportunity:\n    columns:\n"
        + "".join(f"      {contract}: {header}\n" for contract, header in RENAMED.items())
    )
    with duckdb.connect(str(tmp_path / "direct.duckdb")) as con:
        ingest_source(con, SourceConfig(landing_dir=landing), loaded_at=LOADED_AT)
        direct = _raw(con)
    with duckdb.connect(str(tmp_path / "mapped.duckdb")) as con:
        ingest_source(con, SourceConfig(landing_dir=renamed, mapping_path=mapping), loaded_at=LOADED_AT)
        mapped = _raw(con)
        coverage = dict(
            con.execute(
                "select column_name, mapped_from from raw._source_coverage where object_name = 'opportunity'"
            ).fetchall()
        )
    assert mapped == direct
    assert coverage["next_step_date_c"] == "opportunity.csv: next_meeting_c"
    assert coverage["stage_name"] == "opportunity.csv: stage_name"


def test_without_the_mapping_the_renamed_fields_are_not_tracked(tmp_path, landing):
    renamed = tmp_path / "renamed"
    _rewrite_opportunities(landing, renamed, RENAMED)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = ingest_source(con, SourceConfig(landing_dir=renamed), loaded_at=LOADED_AT)
        assert con.execute("select count(next_step_date_c) from raw.opportunity").fetchone()[0] == 0
    assert "opportunity: not tracked: next_step_date_c, trigger_event_c, technical_fit_c" in report.notices


def test_a_pass_through_field_the_file_lacks_is_an_error(tmp_path, landing):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("source: salesforce_files\nobjects:\n  opportunity:\n    pass_through: [Region__c]\n")
    with (
        duckdb.connect(str(tmp_path / "w.duckdb")) as con,
        pytest.raises(SourceError, match="passes through region_c"),
    ):
        ingest_source(con, SourceConfig(landing_dir=landing, mapping_path=mapping), loaded_at=LOADED_AT)


def test_pass_through_fields_reach_dim_deal_custom_fields(tmp_path, landing):
    with_region = tmp_path / "with_region"
    _rewrite_opportunities(landing, with_region, {}, extra="Region__c")
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("source: salesforce_files\nobjects:\n  opportunity:\n    pass_through: [Region__c]\n")
    config = SourceConfig(landing_dir=with_region, mapping_path=mapping)
    warehouse = tmp_path / "build.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ingest_source(con, config, loaded_at=LOADED_AT)
        expected = con.execute(
            "select id, region_c from raw.opportunity where not is_deleted order by id"
        ).fetchall()
    assert config.deal_custom_fields() == ["region_c"]
    run_dbt(
        [
            "build",
            "--select",
            "+dim_deal_custom_fields",
            "--exclude",
            "test_type:unit",
            "--indirect-selection",
            "cautious",
        ],
        warehouse_path=warehouse,
        target_path=tmp_path / "target",
        dbt_vars={"as_of_date": AS_OF.isoformat(), "deal_custom_fields": config.deal_custom_fields()},
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select opportunity_id, field_value from marts.dim_deal_custom_fields "
            "where field_name = 'region_c' order by opportunity_id"
        ).fetchall()
        names = con.execute("select distinct field_name from marts.dim_deal_custom_fields").fetchall()
    assert names == [("region_c",)]
    assert rows == expected and len(rows) > 100
