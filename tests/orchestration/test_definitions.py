"""The Dagster definitions load, and the asset graph is the one we expect."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from orchestration.definitions import defs

SNAPSHOT_PATH = Path(__file__).with_name("asset_graph_snapshot.json")

CRM_OBJECTS = [
    "account",
    "event",
    "forecasting_quota",
    "lead",
    "opportunity",
    "opportunity_history",
    "task",
    "user",
]

PUBLISHED_MARTS = [
    "daily_action_list",
    "deal_risk",
    "fct_deal_snapshots",
    "fct_stage_history",
    "forecast",
    "forecast_accuracy",
    "icp_fit",
    "icp_segments",
    "pipeline_hygiene",
    "rep_scorecards",
    "revops_health",
    "run_rate",
    "stage_conversion_rates",
]


def _asset_graph():
    return defs.resolve_asset_graph()


def test_definitions_load_with_the_build_job():
    assert defs.resolve_job_def("revops_build") is not None


def test_every_crm_object_is_an_ingestion_asset_upstream_of_its_staging_model():
    graph = _asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for name in CRM_OBJECTS:
        assert f"raw/{name}" in keys
    staging_parents = {
        "stg_salesforce__opportunities": "raw/opportunity",
        "stg_salesforce__opportunity_history": "raw/opportunity_history",
        "stg_salesforce__users": "raw/user",
        "stg_salesforce__forecasting_quotas": "raw/forecasting_quota",
    }
    for model, raw in staging_parents.items():
        parents = {p.to_user_string() for p in graph.get(dg.AssetKey(["staging", model])).parent_keys}
        assert raw in parents, f"{model} does not depend on {raw}: {parents}"


def test_marts_are_assets_with_dbt_tests_as_checks():
    graph = _asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for mart in PUBLISHED_MARTS:
        assert f"marts/{mart}" in keys
    check_assets = {check.asset_key.to_user_string() for check in graph.asset_check_keys}
    assert "marts/deal_risk" in check_assets
    assert "raw/opportunity" in check_assets
    publish_parents = {p.to_user_string() for p in graph.get(dg.AssetKey("published_marts")).parent_keys}
    assert {f"marts/{mart}" for mart in PUBLISHED_MARTS} <= publish_parents


def test_the_graph_shows_landing_raw_gate_staging_and_mart_gate_published():
    graph = _asset_graph()

    def parents(key: str) -> set[str]:
        return {p.to_user_string() for p in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}

    for name in CRM_OBJECTS:
        assert parents(f"raw/{name}") == {f"landing/{name}"}
        assert not graph.get(dg.AssetKey(["landing", name])).is_materializable  # external: the export's
        assert f"raw/{name}" in parents("raw_gate")
    assert "raw_gate" in parents("staging/stg_salesforce__opportunities")
    assert {f"marts/{mart}" for mart in PUBLISHED_MARTS} <= parents("mart_gate")
    assert {"raw_gate", "mart_gate"} <= parents("published_marts")


def test_every_check_has_a_description():
    graph = _asset_graph()
    specs = [graph.get_check_spec(key) for key in graph.asset_check_keys]
    assert len(specs) > 250
    missing = [spec.key.to_user_string() for spec in specs if not (spec.description or "").strip()]
    assert not missing, f"checks without a description: {missing[:10]}"
    by_name = {spec.key.name: spec.description for spec in specs}
    assert by_name["deal_risk_not_null_columns"] == (
        "None of as_of_date, opportunity_id, owner_id, stage_name, risk_score, risk_level of deal_risk "
        "is ever null (one query for all)."
    )
    assert by_name["deal_risk_stage_time_component_within_risk_stage_time_weight"] == (
        "stage_time_component of deal_risk lie between 0 and the dbt var risk_stage_time_weight (nulls aside)."
    )
    # a model-level invariant says what a failing row is, in its YAML
    assert by_name["deal_risk_risk_score_reconciles"].startswith(
        "risk_score is the sum of its four components"
    )


def test_the_instance_shows_no_onboarding_dialog(tmp_path, monkeypatch):
    monkeypatch.setenv("REVOPS_DAGSTER_STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("REVOPS_DAGSTER_COMPUTE_LOGS_DIR", str(tmp_path / "logs"))
    instance = dg.DagsterInstance.from_config(str(Path(__file__).resolve().parents[2]))
    try:
        assert instance.nux_enabled is False
    finally:
        instance.dispose()


def test_schedule_and_sensor_are_registered():
    assert defs.resolve_schedule_def("revops_daily_build").cron_schedule
    assert defs.resolve_sensor_def("revops_landing_files_sensor") is not None


def test_asset_graph_snapshot():
    """Every asset with its group and its upstream assets. A change to the graph shows
    up here as a diff to review, not as a silent rewiring."""
    graph = _asset_graph()
    snapshot = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        snapshot[key.to_user_string()] = (
            node.group_name,
            sorted(p.to_user_string() for p in node.parent_keys),
        )
    expected = json.loads(SNAPSHOT_PATH.read_text())
    assert snapshot == {key: (group, parents) for key, (group, parents) in expected.items()}, (
        "the asset graph changed; if that is intended, regenerate the snapshot with "
        "`python tests/orchestration/test_definitions.py` and review the diff"
    )


def current_snapshot() -> dict:
    graph = _asset_graph()
    return {
        key.to_user_string(): [
            graph.get(key).group_name,
            sorted(p.to_user_string() for p in graph.get(key).parent_keys),
        ]
        for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
        if graph.get(key).is_materializable
    }


if __name__ == "__main__":
    SNAPSHOT_PATH.write_text(json.dumps(current_snapshot(), indent=1) + "\n")
    print(f"wrote {SNAPSHOT_PATH}")
