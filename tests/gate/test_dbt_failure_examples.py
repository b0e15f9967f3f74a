"""A failed dbt test's message: model, column, failing rows and up to five example keys
and values, read from the table `dbt build --store-failures` wrote (here written by hand
in a real DuckDB file, in the layouts dbt's generic tests store)."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.dbt_assets import describe_failed_test

MODEL = "model.revops_warehouse.dim_deals"


def manifest(test_name: str, column: str, alias: str) -> dict:
    test_id = f"test.revops_warehouse.{test_name}"
    return {
        "nodes": {
            MODEL: {
                "unique_id": MODEL,
                "name": "dim_deals",
                "schema": "marts",
                "alias": "dim_deals",
                "resource_type": "model",
                "columns": {"opportunity_id": {}, "account_id": {}},
            },
            "test.revops_warehouse.unique_dim_deals_opportunity_id": {
                "resource_type": "test",
                "attached_node": MODEL,
                "column_name": "opportunity_id",
                "test_metadata": {"name": "unique", "kwargs": {"column_name": "opportunity_id"}},
            },
            test_id: {
                "unique_id": test_id,
                "name": test_name,
                "resource_type": "test",
                "attached_node": MODEL,
                "column_name": column,
                "schema": "dbt_test__audit",
                "alias": alias,
                "test_metadata": {"name": test_name.split("_")[0], "kwargs": {"column_name": column}},
            },
        }
    }


def failed_check(test_name: str, rows: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        asset_key=dg.AssetKey(["marts", "dim_deals"]),
        check_name=test_name,
        metadata={"unique_id": f"test.revops_warehouse.{test_name}", "dagster_dbt/failed_row_count": rows},
    )


def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    con.execute("create schema marts; create schema dbt_test__audit")
    con.execute(
        "create table marts.dim_deals as select 'D' || i as opportunity_id, "
        "case when i % 3 = 0 then 'A-gone-' || i else 'A1' end as account_id from range(1, 31) t(i)"
    )
    return con


def test_a_values_only_test_is_joined_back_to_the_model_for_its_keys(tmp_path):
    con = warehouse(tmp_path)
    # dbt's relationships test stores the child values that found no parent
    con.execute(
        "create table dbt_test__audit.rel_accounts as select account_id as from_field "
        "from marts.dim_deals where account_id <> 'A1'"
    )
    name = "relationships_dim_deals_account_id__account_id__ref_dim_accounts_"
    result = describe_failed_test(con, manifest(name, "account_id", "rel_accounts"), failed_check(name, 10))
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    text = result.description
    assert text.startswith(f"marts.dim_deals, column account_id: dbt test {name} failed - 10 failing rows")
    assert (
        "Examples: account_id='A-gone-12' (opportunity_id='D12'), account_id='A-gone-15' (opportunity_id='D15')"
        in text
    )
    assert text.count("(opportunity_id=") == 5
    assert "All failing rows: dbt_test__audit.rel_accounts" in text
    examples = result.metadata["examples"].value
    assert len(examples) == 5 and examples[0] == {
        "value": "account_id='A-gone-12'",
        "source": "opportunity_id='D12'",
    }


def test_a_whole_row_test_shows_the_key_it_stored(tmp_path):
    con = warehouse(tmp_path)
    con.execute("update marts.dim_deals set account_id = null where opportunity_id in ('D2', 'D7')")
    # not_null with store_failures stores the whole failing rows
    con.execute("create table dbt_test__audit.nn as select * from marts.dim_deals where account_id is null")
    name = "not_null_dim_deals_account_id"
    result = describe_failed_test(con, manifest(name, "account_id", "nn"), failed_check(name, 2))
    assert (
        "2 failing rows. Examples: account_id=null (opportunity_id='D2'), account_id=null (opportunity_id='D7')"
        in (result.description)
    )


def test_a_missing_failures_table_still_gives_the_message(tmp_path):
    con = warehouse(tmp_path)
    name = "not_null_dim_deals_account_id"
    result = describe_failed_test(con, manifest(name, "account_id", "absent"), failed_check(name, 3))
    assert result.description.startswith(
        f"marts.dim_deals, column account_id: dbt test {name} failed - 3 failing rows"
    )
    assert "could not be read from dbt_test__audit.absent" in result.description


def test_only_the_failed_tests_keep_their_stored_rows(tmp_path):
    from orchestration.dbt_assets import drop_passed_test_tables

    con = warehouse(tmp_path)
    con.execute("create table dbt_test__audit.rel_accounts as select 'A-gone-3' as from_field")
    con.execute("create table dbt_test__audit.passed_one as select 1 as x where false")
    con.execute("create view dbt_test__audit.passed_two as select 1 as x where false")
    name = "relationships_dim_deals_account_id__account_id__ref_dim_accounts_"
    drop_passed_test_tables(con, manifest(name, "account_id", "rel_accounts"), [failed_check(name, 1)])
    left = con.execute(
        "select table_name from information_schema.tables where table_schema = 'dbt_test__audit'"
    )
    assert left.fetchall() == [("rel_accounts",)]
    assert con.execute("select count(*) from marts.dim_deals").fetchone()[0] == 30


def test_a_model_level_null_check_names_each_column_and_its_null_count(tmp_path):
    """revops_not_null_columns stores one row per column with nulls (column_name, null_count):
    the message names the columns and how many rows each, not just 'a test failed'."""
    con = warehouse(tmp_path)
    con.execute("update marts.dim_deals set account_id = null where opportunity_id in ('D2', 'D7')")
    con.execute(
        "create table dbt_test__audit.nulls as select 'account_id' as column_name, "
        "count(*) as null_count from marts.dim_deals where account_id is null having count(*) > 0"
    )
    name = "dim_deals_not_null_columns"
    graph = manifest(name, None, "nulls")
    graph["nodes"][f"test.revops_warehouse.{name}"]["test_metadata"] = {
        "name": "revops_not_null_columns",
        "kwargs": {"columns": ["opportunity_id", "account_id"]},
    }
    result = describe_failed_test(con, graph, failed_check(name, 1))
    assert result.description.startswith(f"marts.dim_deals: dbt test {name} failed - 1 failing row")
    assert "Examples: column_name='account_id', null_count=2" in result.description
