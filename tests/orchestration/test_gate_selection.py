"""A run that selects publishing (or a gate's verdict) without what it judges is refused by
one clear check, not by validating anything inline (no dbt, no data: refused before)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import defs
from orchestration.publishing import PUBLISHED_KEY
from orchestration.quality_gates import MART_GATE_KEY


def _run(tmp_path, selection: list[dg.AssetKey]):
    config = {
        "resources": {
            "warehouse": {
                "config": {
                    "landing_dir": str(tmp_path / "landing"),
                    "warehouse_path": str(tmp_path / "build.duckdb"),
                    "as_of_date": "2026-11-23",
                }
            },
            "serving": {"config": {"serve_dir": str(tmp_path / "serve")}},
        }
    }
    (tmp_path / "landing").mkdir()
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("revops_build").execute_in_process(
            run_config=config, instance=instance, asset_selection=selection, raise_on_error=False
        )
        failures = [e.step_failure_data.user_failure_data for e in result.all_events if e.is_step_failure]
        materialized = {
            e.asset_key for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"
        }
    return result, [f.description for f in failures if f is not None], materialized


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ([PUBLISHED_KEY], "not materialized in this run: raw_gate, mart_gate. Nothing was published."),
        ([MART_GATE_KEY, PUBLISHED_KEY], "the mart gate judges this run's own tables and checks (not built"),
    ],
)
def test_a_partial_selection_is_refused_in_one_sentence(tmp_path, selection, expected):
    result, failures, materialized = _run(tmp_path, selection)
    assert not result.success
    assert len(failures) == 1 and expected in failures[0], failures
    assert PUBLISHED_KEY not in materialized
    served = tmp_path / "serve" / "revops.duckdb"
    if served.exists():  # the failure's alert is recorded there; no mart is
        with duckdb.connect(str(served), read_only=True) as con:
            marts = con.execute(
                "select count(*) from information_schema.tables where table_schema = 'marts'"
            ).fetchone()[0]
        assert marts == 0
