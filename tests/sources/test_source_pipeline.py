"""The whole pipeline on a Fivetran Salesforce schema: ingestion, gate, dbt, mart gate, publish.

The demo CRM data is written as Fivetran's connector writes it (revops demo-data --shape
fivetran_salesforce) and built with REVOPS_SOURCE=fivetran_salesforce: what BI reads must equal
what the landing folder of the same data builds, except the two columns Fivetran's schema
does not have (created_date of account and user).
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from mart_comparison import MART_NAMES, assert_same_mart, mart_grains, table_rows

from revops.publish import open_served
from revops.settings import Settings
from revops.sources.demo_shapes import write_fivetran_salesforce
from revops_app.pipeline import run_pipeline

# columns fed by what Fivetran's Salesforce schema lacks: compared without them
NOT_IN_FIVETRAN = {"dim_accounts": ["created_at"], "dim_reps": ["created_at"]}
# rows fed by the growth inputs (marketing spend, subscriptions), which no connector has:
# compared without them; growth_metrics itself is checked for what it says instead
NOT_IN_FIVETRAN_ROWS = {"revops_health": "metric not in ('cac_amount', 'net_revenue_retention')"}
GROWTH_COLUMNS = [
    ("marketing_spend", "amount"),
    ("marketing_spend", "channel"),
    ("marketing_spend", "month"),
    ("subscription", "account_id"),
    ("subscription", "end_date"),
    ("subscription", "id"),
    ("subscription", "mrr_amount"),
    ("subscription", "start_date"),
]


@pytest.fixture(scope="module")
def fivetran_publish(demo_landing_dir, demo_warehouse, tmp_path_factory):
    work = tmp_path_factory.mktemp("fivetran_pipeline")
    database = work / "fivetran.duckdb"
    write_fivetran_salesforce(demo_landing_dir, database)
    settings = Settings(
        landing_dir=work / "no-landing-folder",
        warehouse_path=work / "build.duckdb",
        as_of_date=demo_warehouse.as_of_date,
        serve_dir=work / "serve",
        source="fivetran_salesforce",
        source_database=database,
    )
    with dg.DagsterInstance.ephemeral() as instance:
        code = run_pipeline(settings, instance=instance)
    return code, settings


def test_the_run_publishes(fivetran_publish):
    code, settings = fivetran_publish
    assert code == 0
    with open_served(settings.serve_dir) as served:
        published = {
            r[0]
            for r in served.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    assert set(MART_NAMES) <= published


def test_source_coverage_says_what_the_fivetran_schema_lacked(fivetran_publish):
    _, settings = fivetran_publish
    with open_served(settings.serve_dir) as served:
        untracked = served.execute(
            "select object_name, column_name from marts.source_coverage where not is_tracked order by all"
        ).fetchall()
        sources = served.execute("select distinct source from marts.source_coverage").fetchall()
    assert untracked == sorted([("account", "created_date"), ("user", "created_date"), *GROWTH_COLUMNS])
    assert sources == [("fivetran_salesforce",)]


def test_without_growth_inputs_cac_is_unknown_and_nrr_comes_from_deals(fivetran_publish):
    _, settings = fivetran_publish
    with open_served(settings.serve_dir) as served:
        rows = served.execute(
            "select metric, status, basis, unknown_reason from marts.growth_metrics"
        ).fetchall()
    assert {(m, s, b, r) for m, s, b, r in rows if m == "cac"} == {
        ("cac", "unknown", None, "marketing spend not tracked in the source")
    }
    assert [b for m, _, b, _ in rows if m == "nrr"] == ["expansion_renewal_deals"]


@pytest.mark.parametrize("mart", [m for m in MART_NAMES if m not in ("source_coverage", "growth_metrics")])
def test_every_published_mart_equals_the_landing_folders_build(mart, fivetran_publish, demo_warehouse):
    _, settings = fivetran_publish
    schema, table, grain = mart_grains(demo_warehouse.target_path)[mart]
    excluded = NOT_IN_FIVETRAN.get(mart)
    sql = f'select * {"exclude (" + ", ".join(excluded) + ")" if excluded else ""} from "{schema}"."{table}"'
    sql += f" where {NOT_IN_FIVETRAN_ROWS.get(mart, 'true')}"
    with (
        open_served(settings.serve_dir) as served,
        duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as duck,
    ):
        assert_same_mart(mart, grain, table_rows(duck, sql), table_rows(served, sql), "the Fivetran schema")
