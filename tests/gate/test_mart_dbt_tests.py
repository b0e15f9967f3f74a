"""The mart gate is the marts' dbt tests: model-level tests on the demo build (one dbt test
run per setting on a copy of the session's warehouse, no pipeline), bounds that follow
the models' vars, and failures that name the column and the rows."""

from __future__ import annotations

import shutil

import duckdb
from conftest import run_dbt

STAGE_TIME_CHECK = "deal_risk_stage_time_component_within_risk_stage_time_weight"
NOT_NULL_CHECK = "deal_risk_not_null_columns"


def test_deal_risk_bounds_follow_the_weights_and_nulls_are_named(demo_warehouse, tmp_path):
    warehouse = tmp_path / "build.duckdb"
    shutil.copy(demo_warehouse.warehouse_path, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        deal = con.execute(
            "select opportunity_id from marts.deal_risk where stage_time_component = 25 "
            "and activity_component is not null and next_step_component is not null "
            "and close_date_component is not null and risk_score <= 97 order by opportunity_id limit 1"
        ).fetchone()[0]
        # 28 in stage time (the score kept consistent): out of bounds for a weight of 25 only
        con.execute(
            "update marts.deal_risk set stage_time_component = 28, risk_score = risk_score + 3 "
            "where opportunity_id = ?",
            [deal],
        )
        con.execute(
            "update marts.deal_risk set owner_id = null where opportunity_id = "
            "(select max(opportunity_id) from marts.deal_risk)"
        )
    as_of = {"as_of_date": demo_warehouse.as_of_date.isoformat()}
    args = ["test", "--select", "deal_risk", "--exclude-resource-type", "unit_test", "--store-failures"]

    default = run_dbt(
        args, warehouse_path=warehouse, target_path=tmp_path / "t1", dbt_vars=as_of, check=False
    )
    out = default.stdout
    assert default.returncode != 0
    assert f"FAIL 1 {STAGE_TIME_CHECK}" in out, out[-3000:]
    assert f"FAIL 1 {NOT_NULL_CHECK}" in out, out[-3000:]
    assert "PASS deal_risk_risk_score_reconciles" in out, out[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_name like 'revops_not_null_columns_deal_r%' or table_name = ?",
            [NOT_NULL_CHECK],
        ).fetchall()
        assert stored, "the failing rows were not stored"
        schema, table = stored[0]
        rows = con.execute(f'select column_name, null_count from "{schema}"."{table}"').fetchall()
    assert rows == [("owner_id", 1)]

    heavier = run_dbt(
        args,
        warehouse_path=warehouse,
        target_path=tmp_path / "t2",
        dbt_vars={**as_of, "risk_stage_time_weight": 30},
        check=False,
    )
    assert f"PASS {STAGE_TIME_CHECK}" in heavier.stdout, heavier.stdout[-3000:]
    assert f"FAIL 1 {NOT_NULL_CHECK}" in heavier.stdout
