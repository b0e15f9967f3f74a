"""HubSpot (Fivetran's HubSpot schema) into the contract's raw tables, on real DuckDB files.

Hand-written tables in Fivetran's names and types (hubspot_tables.py) are conformed and
checked row by row; then the demo in HubSpot's shape goes round trip (landing folder ->
HubSpot tables -> conform_hubspot -> raw) and is compared with the folder loaded
directly, passes the raw gate, and builds with dbt.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hubspot_tables import write_hubspot_database, write_seeds

from revops.crm_contract import CRM_OBJECTS
from revops.sources.conform import SourceError
from revops.sources.coverage import read_coverage, write_coverage
from revops.sources.hubspot import conform_hubspot
from revops.sources.mapping import default_mapping_path, load_mapping

LOADED_AT = dt.datetime(2026, 11, 23, 6, 0)
TS = dt.datetime


def conform(tmp_path: Path, *, without=(), seeds=None, mapping_text: str | None = None, hubspot=None):
    hubspot = hubspot or write_hubspot_database(tmp_path / "hubspot.duckdb", without=without)
    seeds_dir = write_seeds(tmp_path / "seeds", seeds)
    mapping_path = default_mapping_path("hubspot")
    if mapping_text is not None:
        mapping_path = tmp_path / "mapping.yml"
        mapping_path.write_text(mapping_text, encoding="utf-8")
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute(f"attach '{hubspot}' as hubspot_db (read_only)")
    coverage = conform_hubspot(
        con,
        catalog="hubspot_db",
        schema="hubspot",
        raw_schema="raw",
        mapping=load_mapping(mapping_path, expected_source="hubspot"),
        seeds_dir=seeds_dir,
        loaded_at=LOADED_AT,
    )
    write_coverage(con, "raw", coverage)
    return con


def rows(con, table: str, columns: str, order: str = "id") -> list[tuple]:
    return con.execute(f'select {columns} from raw."{table}" order by {order}').fetchall()


def tracked(con, object_name: str) -> dict[str, str | None]:
    return {
        r.column_name: r.mapped_from
        for r in read_coverage(con, "raw")
        if r.object_name == object_name and r.is_tracked
    }


# --------------------------------------------------------------------------- fixtures


def test_raw_tables_have_exactly_the_contract_columns_and_types(tmp_path):
    con = conform(tmp_path)
    for obj in CRM_OBJECTS.values():
        described = con.execute(f'describe raw."{obj.name}"').fetchall()
        assert [(c[0], c[1]) for c in described] == [
            *obj.columns.items(),
            ("_source_file", "VARCHAR"),
            ("_source_row", "BIGINT"),
            ("_loaded_at", "TIMESTAMP"),
        ], obj.name


def test_deals_stages_companies_and_flags(tmp_path):
    con = conform(tmp_path)
    assert rows(
        con,
        "opportunity",
        "id, account_id, owner_id, name, stage_name, amount, close_date, created_date, "
        "is_closed, is_won, forecast_category_name, probability, lead_source, type, next_step, is_deleted",
    ) == [
        (
            "301",
            "201",
            "101",
            "Acme expansion",
            "Exploring Solutions",
            50000.0,
            dt.date(2026, 12, 15),
            TS(2026, 9, 1, 10),
            False,
            False,
            "Pipeline",
            40.0,
            "ORGANIC_SEARCH",
            "New Business",
            "Send proposal",
            False,
        ),
        # the Renewals pipeline's "Qualified" is another stage than the Sales Pipeline's; no company
        (
            "302",
            None,
            "102",
            "Initech renewal",
            "Validating Fit",
            12000.0,
            dt.date(2027, 1, 31),
            TS(2026, 10, 5, 9, 30),
            False,
            False,
            "Best Case",
            50.0,
            "OFFLINE",
            "Renewal",
            None,
            False,
        ),
        # only a non-primary company link: still the account
        (
            "303",
            "201",
            "101",
            "Acme first deal",
            "Closed Won",
            30000.0,
            dt.date(2026, 6, 30),
            TS(2026, 3, 1, 12),
            True,
            True,
            "Closed",
            100.0,
            "REFERRALS",
            "Expansion",
            None,
            False,
        ),
        (
            "304",
            None,
            "101",
            "Deleted deal",
            "Finalizing Terms",
            999.0,
            dt.date(2026, 12, 1),
            TS(2026, 8, 1, 12),
            False,
            False,
            "Commit",
            90.0,
            None,
            "New Business",
            None,
            True,
        ),
        # linked only to a deleted company: no account; an unknown deal type is kept for the gate to name
        (
            "305",
            None,
            "103",
            "Globex renewal",
            "Closed Won",
            8000.0,
            dt.date(2026, 5, 31),
            TS(2026, 2, 1, 12),
            True,
            True,
            "Closed",
            100.0,
            None,
            "something_else",
            None,
            False,
        ),
    ]
    assert rows(con, "opportunity", "_source_file, _source_row, _loaded_at", "_source_row")[0] == (
        "hubspot.deal",
        1,
        LOADED_AT,
    )
    coverage = tracked(con, "opportunity")
    assert coverage["stage_name"] == "hubspot.deal.deal_pipeline_stage_id via seeds/hubspot_stage_map.csv"
    assert coverage["account_id"] == "hubspot.deal_company.company_id (the primary company)"
    assert coverage["is_deleted"] == "hubspot.deal.is_deleted"
    assert not {"next_step_date_c", "trigger_event_c", "technical_fit_c"} & set(coverage)


def test_history_has_a_row_wherever_stage_amount_or_close_date_changed(tmp_path):
    con = conform(tmp_path)
    assert rows(
        con,
        "opportunity_history",
        "id, opportunity_id, stage_name, amount, close_date, probability, "
        "forecast_category, created_date, is_deleted",
        "opportunity_id, created_date",
    ) == [
        (
            "301:1788256800000",
            "301",
            "Problem Acknowledged",
            40000.0,
            dt.date(2026, 12, 1),
            20.0,
            "Pipeline",
            TS(2026, 9, 1, 10),
            False,
        ),
        (
            "301:1790845200000",
            "301",
            "Exploring Solutions",
            40000.0,
            dt.date(2026, 12, 1),
            40.0,
            "Pipeline",
            TS(2026, 10, 1, 9),
            False,
        ),
        (
            "301:1792065600000",
            "301",
            "Exploring Solutions",
            50000.0,
            dt.date(2026, 12, 1),
            40.0,
            "Pipeline",
            TS(2026, 10, 15, 12),
            False,
        ),
        (
            "301:1792454400000",
            "301",
            "Exploring Solutions",
            50000.0,
            dt.date(2026, 12, 15),
            40.0,
            "Pipeline",
            TS(2026, 10, 20),
            False,
        ),
        # forecast-category changes alone (Nov 1 and 2) make no row; the deleted deal 304 has none
        ("302:1791192600000", "302", "Validating Fit", None, None, 50.0, None, TS(2026, 10, 5, 9, 30), False),
    ]


def test_engagements_are_interactions_on_their_deals(tmp_path):
    con = conform(tmp_path)
    assert rows(
        con,
        "task",
        "id, what_id, owner_id, subject, task_subtype, type, status, activity_date, "
        "created_date, completed_date_time, is_closed, is_deleted",
    ) == [
        (
            "401",
            "301",
            "101",
            "Discovery call",
            "Call",
            "Call",
            "Completed",
            dt.date(2026, 11, 20),
            TS(2026, 11, 20, 15, 30),
            TS(2026, 11, 20, 15),
            True,
            False,
        ),
        # one email on two deals: a row per deal
        (
            "402:301",
            "301",
            "102",
            "Proposal",
            "Email",
            "Email",
            "Completed",
            dt.date(2026, 11, 19),
            TS(2026, 11, 19, 9),
            TS(2026, 11, 19, 9),
            True,
            False,
        ),
        (
            "402:302",
            "302",
            "102",
            "Proposal",
            "Email",
            "Email",
            "Completed",
            dt.date(2026, 11, 19),
            TS(2026, 11, 19, 9),
            TS(2026, 11, 19, 9),
            True,
            False,
        ),
        (
            "404",
            "301",
            "101",
            "Deleted call",
            "Call",
            "Call",
            "Completed",
            dt.date(2026, 11, 17),
            TS(2026, 11, 17, 10, 10),
            TS(2026, 11, 17, 10),
            True,
            True,
        ),
        # v3 columns empty: owner and times from engagement; on no deal
        (
            "406",
            None,
            "101",
            "Newsletter",
            "Email",
            "Email",
            "Completed",
            dt.date(2026, 11, 15),
            TS(2026, 11, 15, 10),
            TS(2026, 11, 15, 10),
            True,
            False,
        ),
    ]
    assert rows(
        con,
        "event",
        "id, what_id, owner_id, subject, type, start_date_time, end_date_time, created_date, is_deleted",
    ) == [
        (
            "403",
            "302",
            "102",
            "Demo",
            "Meeting",
            TS(2026, 11, 18, 14),
            TS(2026, 11, 18, 15),
            TS(2026, 11, 10, 11),
            False,
        ),
    ]
    assert "who_id" not in tracked(con, "task")


def test_owners_companies_targets_and_no_leads(tmp_path):
    con = conform(tmp_path)
    assert rows(con, "user", "id, name, email, manager_id, department, title, is_active, created_date") == [
        ("101", "Ada Lovelace", "ada@example.com", None, "Enterprise", None, True, TS(2024, 1, 10, 9)),
        ("102", "Grace Hopper", "grace@example.com", "101", "SMB", None, True, TS(2024, 2, 10, 9)),
        ("103", "former@example.com", "former@example.com", None, None, None, False, TS(2024, 3, 10, 9)),
    ]
    assert rows(
        con,
        "account",
        "id, name, industry, number_of_employees, annual_revenue, billing_country, owner_id, created_date",
    ) == [
        ("201", "Acme", "Software", 250, 12000000.0, "Germany", "101", TS(2025, 5, 1, 8)),
    ]
    assert rows(con, "forecasting_quota", "id, quota_owner_id, start_date, quota_amount") == [
        ("101:2026-11", "101", dt.date(2026, 11, 1), 100000.0),
        ("102:2026-11", "102", dt.date(2026, 11, 1), 50000.5),
    ]
    assert rows(con, "lead", "count(*)", "1") == [(0,)]
    coverage = read_coverage(con, "raw")
    lead = [r for r in coverage if r.object_name == "lead"]
    assert len(lead) == len(CRM_OBJECTS["lead"].columns) and not any(
        r.is_tracked or r.row_count for r in lead
    )
    assert tracked(con, "user")["manager_id"] == "seeds/hubspot_managers.csv"
    assert "title" not in tracked(con, "user")
    assert {r.source for r in coverage} == {"hubspot"}
    assert {(r.object_name, r.row_count) for r in coverage if r.column_name == "id"} == {
        ("user", 3),
        ("account", 1),
        ("opportunity", 5),
        ("opportunity_history", 5),
        ("task", 5),
        ("event", 1),
        ("lead", 0),
        ("forecasting_quota", 2),
        ("subscription", 0),  # HubSpot has no subscriptions (nor marketing spend, keyed without id)
    }


def test_only_deal_and_owner_are_required(tmp_path):
    optional = (
        "deal_pipeline",
        "deal_pipeline_stage",
        "deal_company",
        "deal_stage",
        "deal_property_history",
        "engagement",
        "engagement_call",
        "engagement_email",
        "engagement_meeting",
        "engagement_deal",
        "owner_team",
        "team",
        "company",
    )
    con = conform(
        tmp_path,
        without=optional,
        seeds={
            "hubspot_managers.csv": "owner_id,manager_owner_id\n",
            "targets.csv": "owner_id,month_start,amount\n",
            # without deal_pipeline_stage there are no labels: stages by id
            "hubspot_stage_map.csv": "pipeline,stage,stage_name\ndefault,qualifiedtobuy,Exploring Solutions\n"
            "default,contractsent,Finalizing Terms\ndefault,closedwon,Closed Won\n555,1001,Validating Fit\n555,1002,Closed Won\n",
        },
    )
    assert rows(con, "opportunity", "id, stage_name, is_closed, is_won, probability, account_id") == [
        ("301", "Exploring Solutions", False, False, None, None),
        ("302", "Validating Fit", False, False, None, None),
        ("303", "Closed Won", True, True, None, None),
        ("304", "Finalizing Terms", False, False, None, None),
        ("305", "Closed Won", True, True, None, None),
    ]
    for name in ("account", "opportunity_history", "task", "event", "lead", "forecasting_quota"):
        assert rows(con, name, "count(*)", "1") == [(0,)], name
        assert tracked(con, name) == {}, name
    assert (
        tracked(con, "opportunity")["is_closed"]
        == "seeds/stage_map.csv (is_closed, is_won of the mapped stage)"
    )
    assert not {"probability", "account_id"} & set(tracked(con, "opportunity"))
    assert not {"department", "manager_id"} & set(tracked(con, "user"))


def test_a_custom_property_named_in_the_mapping_is_tracked(tmp_path):
    mapping = (
        default_mapping_path("hubspot")
        .read_text()
        .replace("next_step_date_c: null", "next_step_date_c: property_closedate")
    )
    con = conform(tmp_path, mapping_text=mapping)
    assert rows(con, "opportunity", "next_step_date_c", "id")[0] == (dt.date(2026, 12, 15),)
    assert tracked(con, "opportunity")["next_step_date_c"] == "hubspot.deal.property_closedate"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("misspelt property", "has no such column"),
        (
            "unmapped stage",
            "'Contract Sent' (contractsent) of pipeline 'Sales Pipeline' (default): 0 deals now, 1 history rows",
        ),
        ("ambiguous stage", "to several stages (Evaluating Options, Exploring Solutions)"),
        ("bad target", "targets.csv: line 2: column month_start: 2026-11-15 is not the first day of a month"),
        (
            "unknown project stage",
            "hubspot_stage_map.csv: line 2: column stage_name: 'Negotiation' is not a stage",
        ),
        ("no deal table", "has no table deal: deals are required"),
    ],
)
def test_bad_input_is_a_clear_error_and_leaves_raw_untouched(tmp_path, case, expected):
    stage_map = "pipeline,stage,stage_name\ndefault,Appointment Scheduled,Problem Acknowledged\ndefault,qualifiedtobuy,Exploring Solutions\nRenewals,Qualified,Validating Fit\n"
    arguments = {
        "misspelt property": {
            "mapping_text": default_mapping_path("hubspot")
            .read_text()
            .replace("trigger_event_c: null", "trigger_event_c: property_trigger_evnt")
        },
        # Contract Sent is not mapped: only the deleted deal 304 is in it now (not counted), and
        # deal 301 passed through it once (added below)
        "unmapped stage": {"seeds": {"hubspot_stage_map.csv": stage_map}},
        # the Sales Pipeline's Qualified: pipeline by label + stage by id, and pipeline by id + stage by label
        "ambiguous stage": {
            "seeds": {
                "hubspot_stage_map.csv": (
                    "pipeline,stage,stage_name\nSales Pipeline,qualifiedtobuy,Exploring Solutions\n"
                    "default,Qualified,Evaluating Options\nRenewals,Qualified,Validating Fit\n"
                    "default,Appointment Scheduled,Problem Acknowledged\nSales Pipeline,Contract Sent,Finalizing Terms\n"
                )
            }
        },
        "bad target": {"seeds": {"targets.csv": "owner_id,month_start,amount\n101,2026-11-15,100\n"}},
        "unknown project stage": {
            "seeds": {"hubspot_stage_map.csv": "pipeline,stage,stage_name\ndefault,closedwon,Negotiation\n"}
        },
        "no deal table": {"without": ("deal",)},
    }[case]
    if case == "unmapped stage":
        hubspot = write_hubspot_database(tmp_path / "hubspot.duckdb")
        with duckdb.connect(str(hubspot)) as con:  # 301 passed through Contract Sent once
            con.execute(
                "insert into hubspot.hubspot.deal_stage select * replace "
                "(timestamp '2026-09-15 10:00' as _fivetran_start, timestamp '2026-09-15 10:00' as date_entered, "
                "'contractsent' as value) from hubspot.hubspot.deal_stage where deal_id = 301 limit 1"
            )
        arguments["hubspot"] = hubspot
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw; create table raw.opportunity as select 'before' as id")
    with pytest.raises(SourceError) as error:
        conform(tmp_path, **arguments)
    assert expected in str(error.value)
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("select id from raw.opportunity").fetchall() == [("before",)]


# --------------------------------------------------------------------------- the demo, round trip

DEMO_AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo_round_trip(tmp_path_factory):
    """The demo at 300 deals: loaded directly, and through HubSpot's tables and conform_hubspot."""
    from revops.landing import load_landing_object
    from revops.sources.hubspot_demo import demo_mapping_path, demo_seeds_dir, write_hubspot_demo
    from revops_demo import generate_demo_data

    work = tmp_path_factory.mktemp("hubspot_demo")
    landing = work / "landing"
    generate_demo_data(landing, as_of_date=DEMO_AS_OF, reps=8, deals=300, months=12, seed=7)
    direct = duckdb.connect(str(work / "direct.duckdb"))
    for obj in CRM_OBJECTS.values():
        load_landing_object(direct, obj, landing)
    database = work / "hubspot" / "hubspot.duckdb"
    counts = write_hubspot_demo(landing, database)
    warehouse = work / "build.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute(f"attach '{database}' as hubspot_db (read_only)")
    coverage = conform_hubspot(
        con,
        catalog="hubspot_db",
        schema="hubspot",
        raw_schema="raw",
        mapping=load_mapping(demo_mapping_path(database), expected_source="hubspot"),
        seeds_dir=demo_seeds_dir(database),
        loaded_at=LOADED_AT,
    )
    write_coverage(con, "raw", coverage)
    con.execute("detach hubspot_db")
    yield direct, con, warehouse, counts, work
    direct.close()
    con.close()


def _hs(salesforce_id):
    from revops.sources.hubspot_demo import hubspot_id

    return None if salesforce_id is None else str(hubspot_id(salesforce_id))


def test_demo_round_trip_keeps_deals_owners_accounts_and_quotas(demo_round_trip):
    direct, con, _, counts, _ = demo_round_trip
    assert counts["deal"] == 300 and counts["hubspot_seeds/hubspot_stage_map.csv"] == 16
    deal_columns = (
        "owner_id, account_id, name, stage_name, amount, close_date, created_date, last_modified_date, "
        "is_closed, is_won, forecast_category_name, lead_source, type, next_step, "
        "next_step_date_c, trigger_event_c, technical_fit_c, coalesce(is_deleted, false)"
    )  # not probability: HubSpot carries the stage's, the demo's reps add their optimism
    expected = {
        (_hs(r[0]), _hs(r[1]), _hs(r[2]), *r[3:])
        for r in direct.execute(f"select id, {deal_columns} from raw.opportunity").fetchall()
    }
    assert set(con.execute(f"select id, {deal_columns} from raw.opportunity").fetchall()) == expected
    user_columns = "name, email, manager_id, department, is_active, created_date"
    assert set(con.execute(f"select id, {user_columns} from raw.user").fetchall()) == {
        (_hs(r[0]), r[1], r[2], _hs(r[3]), *r[4:])
        for r in direct.execute(f"select id, {user_columns} from raw.user").fetchall()
    }
    account_columns = (
        "name, industry, number_of_employees, annual_revenue, billing_country, owner_id, created_date"
    )
    assert set(con.execute(f"select id, {account_columns} from raw.account").fetchall()) == {
        (_hs(r[0]), *r[1:6], _hs(r[6]), r[7])
        for r in direct.execute(f"select id, {account_columns} from raw.account").fetchall()
    }
    assert set(
        con.execute("select quota_owner_id, start_date, quota_amount from raw.forecasting_quota").fetchall()
    ) == {
        (_hs(r[0]), *r[1:])
        for r in direct.execute(
            "select quota_owner_id, start_date, quota_amount from raw.forecasting_quota"
        ).fetchall()
    }


def test_demo_round_trip_keeps_history_changes_and_interactions(demo_round_trip):
    direct, con, _, _, _ = demo_round_trip
    changes = direct.execute(
        """
        select opportunity_id, created_date, stage_name, amount, close_date, forecast_category
        from (
            select h.*, row_number() over w = 1 or h.stage_name is distinct from lag(h.stage_name) over w
                or h.amount is distinct from lag(h.amount) over w
                or h.close_date is distinct from lag(h.close_date) over w as changed
            from raw.opportunity_history as h
            join raw.opportunity as o on o.id = h.opportunity_id and not coalesce(o.is_deleted, false)
            where not coalesce(h.is_deleted, false)
            window w as (partition by h.opportunity_id order by h.created_date)
        ) where changed
        """
    ).fetchall()
    assert len(changes) > 900
    assert set(
        con.execute(
            "select opportunity_id, created_date, stage_name, amount, close_date, forecast_category "
            "from raw.opportunity_history"
        ).fetchall()
    ) == {(_hs(r[0]), *r[1:]) for r in changes}
    # interactions as the marts count them: completed calls and emails and meetings on a deal
    interactions = """
        select what_id, owner_id, kind, cast(coalesce(happened_at, on_day) as date), coalesce(is_deleted, false) from (
            select what_id, owner_id, task_subtype as kind, completed_date_time as happened_at, activity_date as on_day, is_deleted
            from raw.task where status = 'Completed' and task_subtype in ('Call', 'Email')
            union all
            select what_id, owner_id, 'Meeting', start_date_time, null, is_deleted from raw.event
        ) where what_id in (select id from raw.opportunity)"""
    expected = [(_hs(r[0]), _hs(r[1]), *r[2:]) for r in direct.execute(interactions).fetchall()]
    assert len(expected) > 5000
    assert sorted(con.execute(interactions).fetchall()) == sorted(expected)


def test_demo_round_trip_passes_the_raw_gate_and_builds(demo_round_trip):
    from conftest import run_dbt

    from revops.quality import validate_raw_tables
    from revops.settings import Settings

    _, con, warehouse, _, work = demo_round_trip
    con.close()  # the gate and dbt open the warehouse themselves
    report = validate_raw_tables(
        Settings(landing_dir=work / "landing", warehouse_path=warehouse, as_of_date=DEMO_AS_OF)
    )
    assert report.passed, report.summary()
    assert not report.blocking_failures and not report.warnings
    run_dbt(
        ["build"],
        warehouse_path=warehouse,
        target_path=work / "target",
        dbt_vars={"as_of_date": DEMO_AS_OF.isoformat()},
    )
    with duckdb.connect(str(warehouse), read_only=True) as built:
        marts = {
            r[0]
            for r in built.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        assert {"dim_deals", "fct_deal_snapshots", "revops_health"} <= marts
        assert (
            built.execute("select count(*) from marts.dim_deals").fetchone()[0]
            == 300 - built.execute("select count(*) from raw.opportunity where is_deleted").fetchone()[0]
        )
