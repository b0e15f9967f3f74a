"""A Salesforce schema as Fivetran writes it, conformed into the contract's raw tables.

The fixture tables use the table and column names and types of Fivetran's Salesforce
connector (as its dbt_salesforce_source package documents them: `get_*_columns` macros):
dates as timestamps, `_fivetran_synced`, `_fivetran_deleted`, no custom fields, no
created_date on account and user, no OpportunityHistory or ForecastingQuota, and the
History Mode table `salesforce_history.opportunity` for the stage history.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from revops.crm_contract import CRM_OBJECTS
from revops.sources import SourceConfig, SourceError, ingest_source
from revops.sources.coverage import read_coverage

LOADED_AT = dt.datetime(2026, 11, 23, 6, 0)

FIVETRAN_TABLES = {
    "user": """
        create table salesforce."user" (
            _fivetran_synced timestamp, _fivetran_deleted boolean, id varchar, name varchar,
            first_name varchar, last_name varchar, email varchar, username varchar, manager_id varchar,
            department varchar, title varchar, is_active boolean, user_role_id varchar, profile_id varchar
        );
        insert into salesforce."user" values
            ('2026-11-23 05:00', false, '005000000000001AAA', 'Ada Rep', 'Ada', 'Rep', 'ada@example.com',
             'ada', '005000000000009AAA', 'East', 'AE', true, null, null),
            ('2026-11-23 05:00', false, '005000000000009AAA', 'Max Manager', 'Max', 'Manager',
             'max@example.com', 'max', null, 'East', 'Manager', true, null, null);
    """,
    "account": """
        create table salesforce.account (
            _fivetran_synced timestamp, _fivetran_active boolean, id varchar, name varchar,
            industry varchar, number_of_employees integer, annual_revenue double, billing_country varchar,
            billing_city varchar, owner_id varchar, is_deleted boolean, type varchar, website varchar
        );
        insert into salesforce.account values
            ('2026-11-23 05:00', true, '001000000000001AAA', 'Acme', 'Software', 250, 1e7, 'Germany',
             'Berlin', '005000000000001AAA', false, 'Customer', null);
    """,
    "opportunity": """
        create table salesforce.opportunity (
            _fivetran_synced timestamp, _fivetran_active boolean, account_id varchar, amount double,
            campaign_id varchar, close_date timestamp, created_date timestamp, description varchar,
            expected_revenue decimal(18, 2), fiscal varchar, fiscal_quarter integer, fiscal_year integer,
            forecast_category varchar, forecast_category_name varchar, has_open_activity boolean,
            has_opportunity_line_item boolean, has_overdue_task boolean, id varchar, is_closed boolean,
            is_deleted boolean, is_won boolean, last_activity_date timestamp, lead_source varchar,
            name varchar, next_step varchar, owner_id varchar, probability double, record_type_id varchar,
            stage_name varchar, synced_quote_id varchar, type varchar, last_modified_date timestamp,
            _fivetran_deleted boolean
        );
        insert into salesforce.opportunity values
            -- open, with an account
            ('2026-11-23 05:00', true, '001000000000001AAA', 50000, null, '2026-12-15 00:00:00',
             '2026-09-01 14:30:00', null, null, '2026 4', 4, 2026, 'BestCase', 'Best Case', false, false,
             false, '006000000000001AAA', false, false, false, null, 'Inbound', 'Acme expansion',
             'Send the security review', '005000000000001AAA', 30, null, 'Evaluating Options', null,
             'New Business', '2026-11-20 10:00:00', false),
            -- won, no account (legal in Salesforce)
            ('2026-11-23 05:00', true, null, 12000, null, '2026-10-31 00:00:00', '2026-08-01 09:00:00',
             null, null, '2026 4', 4, 2026, 'Closed', 'Closed', false, false, false, '006000000000002AAA',
             true, false, true, null, 'Outbound Prospecting', 'Solo deal', null, '005000000000001AAA', 100,
             null, 'Closed Won', null, 'New Business', '2026-10-31 12:00:00', false),
            -- deleted by the connector (_fivetran_deleted), not by Salesforce's recycle bin
            ('2026-11-23 05:00', true, '001000000000001AAA', 9000, null, '2026-12-01 00:00:00',
             '2026-10-01 09:00:00', null, null, '2026 4', 4, 2026, 'Pipeline', 'Pipeline', false, false,
             false, '006000000000003AAA', false, false, false, null, 'Inbound', 'Gone', null,
             '005000000000001AAA', 10, null, 'Problem Acknowledged', null, 'New Business',
             '2026-11-01 12:00:00', true);
    """,
    "task": """
        create table salesforce.task (
            _fivetran_synced timestamp, _fivetran_active boolean, account_id varchar, activity_date timestamp,
            call_disposition varchar, call_duration_in_seconds integer, call_type varchar,
            completed_date_time timestamp, created_by_id varchar, created_date timestamp, description varchar,
            id varchar, is_archived boolean, is_closed boolean, is_deleted boolean, is_high_priority boolean,
            owner_id varchar, priority varchar, status varchar, subject varchar, task_subtype varchar,
            type varchar, what_count integer, what_id varchar, who_count integer, who_id varchar
        );
        insert into salesforce.task values
            ('2026-11-23 05:00', true, '001000000000001AAA', '2026-11-20 00:00:00', null, 300, 'Outbound',
             '2026-11-20 15:00:00', '005000000000001AAA', '2026-11-19 09:00:00', null, '00T000000000001AAA',
             false, true, false, false, '005000000000001AAA', 'Normal', 'Completed', 'Call Acme', 'Call',
             'Call', 1, '006000000000001AAA', 1, '003000000000001AAA');
    """,
    "event": """
        create table salesforce.event (
            _fivetran_synced timestamp, _fivetran_active boolean, account_id varchar, activity_date timestamp,
            activity_date_time timestamp, created_by_id varchar, created_date timestamp, description varchar,
            end_date timestamp, end_date_time timestamp, event_subtype varchar, id varchar, is_deleted boolean,
            owner_id varchar, start_date_time timestamp, subject varchar, type varchar, what_id varchar,
            who_id varchar
        );
        insert into salesforce.event values
            ('2026-11-23 05:00', true, '001000000000001AAA', '2026-11-18 00:00:00', '2026-11-18 10:00:00',
             '005000000000001AAA', '2026-11-10 09:00:00', null, '2026-11-18 00:00:00', '2026-11-18 11:00:00',
             'Event', '00U000000000001AAA', false, '005000000000001AAA', '2026-11-18 10:00:00', 'Demo',
             'Meeting', '006000000000001AAA', null);
    """,
}

HISTORY_MODE = """
    create schema salesforce_history;
    create table salesforce_history.opportunity (
        _fivetran_start timestamp, _fivetran_end timestamp, _fivetran_active boolean, _fivetran_synced timestamp,
        id varchar, stage_name varchar, amount double, close_date timestamp, probability double,
        forecast_category_name varchar, next_step varchar, owner_id varchar, is_deleted boolean
    );
    insert into salesforce_history.opportunity values
        -- three versions of deal 1: created, next step edited (no history row), stage moved
        ('2026-09-01 14:30:00', '2026-09-15 09:59:59', false, '2026-11-23 05:00', '006000000000001AAA',
         'Problem Acknowledged', 40000, '2026-11-30 00:00:00', 10, 'Pipeline', null, '005000000000001AAA', false),
        ('2026-09-15 10:00:00', '2026-10-02 08:59:59', false, '2026-11-23 05:00', '006000000000001AAA',
         'Problem Acknowledged', 40000, '2026-11-30 00:00:00', 10, 'Pipeline', 'call', '005000000000001AAA', false),
        ('2026-10-02 09:00:00', '9999-12-31 23:59:59', true, '2026-11-23 05:00', '006000000000001AAA',
         'Evaluating Options', 50000, '2026-12-15 00:00:00', 30, 'Best Case', 'Send the security review',
         '005000000000001AAA', false),
        ('2026-08-01 09:00:00', '2026-10-31 11:59:59', false, '2026-11-23 05:00', '006000000000002AAA',
         'Evaluating Options', 12000, '2026-10-31 00:00:00', 30, 'Pipeline', null, '005000000000001AAA', false),
        ('2026-10-31 12:00:00', '9999-12-31 23:59:59', true, '2026-11-23 05:00', '006000000000002AAA',
         'Closed Won', 12000, '2026-10-31 00:00:00', 100, 'Closed', null, '005000000000001AAA', false);
"""


@pytest.fixture
def fivetran_database(tmp_path) -> Path:
    path = tmp_path / "fivetran.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema salesforce")
        for sql in FIVETRAN_TABLES.values():
            con.execute(sql)
        con.execute(HISTORY_MODE)
    return path


def _ingest(tmp_path: Path, database: Path, **config):
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    report = ingest_source(
        con, SourceConfig(kind="fivetran_salesforce", database=database, **config), loaded_at=LOADED_AT
    )
    return con, report


def test_every_contract_object_is_written_in_the_contracts_shape(tmp_path, fivetran_database):
    con, _ = _ingest(tmp_path, fivetran_database)
    for name, obj in CRM_OBJECTS.items():
        described = con.execute(f'describe raw."{name}"').fetchall()
        assert [(r[0], r[1]) for r in described] == [
            *obj.columns.items(),
            ("_source_file", "VARCHAR"),
            ("_source_row", "BIGINT"),
            ("_loaded_at", "TIMESTAMP"),
        ], name


def test_values_dates_and_deletes_come_through(tmp_path, fivetran_database):
    con, _ = _ingest(tmp_path, fivetran_database)
    rows = con.execute(
        "select id, account_id, amount, close_date, created_date, is_deleted, next_step_date_c, "
        "trigger_event_c, _source_file from raw.opportunity order by id"
    ).fetchall()
    assert rows == [
        (
            "006000000000001AAA",
            "001000000000001AAA",
            50000.0,
            dt.date(2026, 12, 15),
            dt.datetime(2026, 9, 1, 14, 30),
            False,
            None,
            None,
            "salesforce.opportunity",
        ),
        (
            "006000000000002AAA",
            None,
            12000.0,
            dt.date(2026, 10, 31),
            dt.datetime(2026, 8, 1, 9, 0),
            False,
            None,
            None,
            "salesforce.opportunity",
        ),
        # _fivetran_deleted counts as deleted
        (
            "006000000000003AAA",
            "001000000000001AAA",
            9000.0,
            dt.date(2026, 12, 1),
            dt.datetime(2026, 10, 1, 9, 0),
            True,
            None,
            None,
            "salesforce.opportunity",
        ),
    ]
    assert con.execute("select activity_date, completed_date_time from raw.task").fetchall() == [
        (dt.date(2026, 11, 20), dt.datetime(2026, 11, 20, 15, 0))
    ]
    assert con.execute('select id, created_date from raw."user" order by id').fetchall() == [
        ("005000000000001AAA", None),
        ("005000000000009AAA", None),
    ]


def test_history_mode_gives_a_history_row_wherever_stage_amount_or_close_date_changed(
    tmp_path, fivetran_database
):
    con, _ = _ingest(tmp_path, fivetran_database)
    rows = con.execute(
        "select opportunity_id, stage_name, amount, close_date, forecast_category, created_date "
        "from raw.opportunity_history order by opportunity_id, created_date"
    ).fetchall()
    assert rows == [
        # the next-step edit of 2026-09-15 changed none of the three: no row
        (
            "006000000000001AAA",
            "Problem Acknowledged",
            40000.0,
            dt.date(2026, 11, 30),
            "Pipeline",
            dt.datetime(2026, 9, 1, 14, 30),
        ),
        (
            "006000000000001AAA",
            "Evaluating Options",
            50000.0,
            dt.date(2026, 12, 15),
            "Best Case",
            dt.datetime(2026, 10, 2, 9, 0),
        ),
        (
            "006000000000002AAA",
            "Evaluating Options",
            12000.0,
            dt.date(2026, 10, 31),
            "Pipeline",
            dt.datetime(2026, 8, 1, 9, 0),
        ),
        (
            "006000000000002AAA",
            "Closed Won",
            12000.0,
            dt.date(2026, 10, 31),
            "Closed",
            dt.datetime(2026, 10, 31, 12, 0),
        ),
    ]
    ids = [r[0] for r in con.execute("select id from raw.opportunity_history").fetchall()]
    assert len(set(ids)) == len(ids)


def test_coverage_says_what_the_schema_lacked(tmp_path, fivetran_database):
    con, report = _ingest(tmp_path, fivetran_database)
    coverage = {(r.object_name, r.column_name): r for r in read_coverage(con, "raw")}
    assert len(coverage) == sum(len(o.columns) for o in CRM_OBJECTS.values())
    for column in ("next_step_date_c", "trigger_event_c", "technical_fit_c"):
        assert not coverage[("opportunity", column)].is_tracked
    assert not coverage[("account", "created_date")].is_tracked
    assert coverage[("opportunity", "stage_name")].mapped_from == "salesforce.opportunity.stage_name"
    assert coverage[("opportunity", "is_deleted")].mapped_from == (
        "salesforce.opportunity.is_deleted or salesforce.opportunity._fivetran_deleted"
    )
    assert coverage[("opportunity_history", "stage_name")].mapped_from == (
        "salesforce_history.opportunity (History Mode)"
    )
    assert coverage[("opportunity", "id")].row_count == 3
    for absent in ("lead", "forecasting_quota"):
        assert not any(r.is_tracked for k, r in coverage.items() if k[0] == absent)
        assert con.execute(f"select count(*) from raw.{absent}").fetchone()[0] == 0
    assert "forecasting_quota: not in the source (an empty input; what needs it is unknown)" in report.notices


def test_a_mapping_file_renames_a_custom_field(tmp_path, fivetran_database):
    with duckdb.connect(str(fivetran_database)) as con:
        con.execute("alter table salesforce.opportunity add column next_meeting_c timestamp")
        con.execute("update salesforce.opportunity set next_meeting_c = '2026-11-25 00:00:00'")
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "source: fivetran_salesforce\n"
        "objects:\n"
        "  opportunity:\n"
        "    columns:\n"
        "      next_step_date_c: next_meeting_c\n"
    )
    con, _ = _ingest(tmp_path, fivetran_database, mapping_path=mapping)
    assert {r[0] for r in con.execute("select next_step_date_c from raw.opportunity").fetchall()} == {
        dt.date(2026, 11, 25)
    }
    [(mapped_from,)] = con.execute(
        "select mapped_from from raw._source_coverage where column_name = 'next_step_date_c'"
    ).fetchall()
    assert mapped_from == "salesforce.opportunity.next_meeting_c"


def test_a_schema_without_opportunities_is_a_clear_error(tmp_path, fivetran_database):
    with duckdb.connect(str(fivetran_database)) as con:
        con.execute("drop table salesforce.opportunity")
    with pytest.raises(SourceError, match="has no table opportunity: it is required"):
        _ingest(tmp_path, fivetran_database)


def test_a_wrong_schema_names_the_ones_there_are(tmp_path, fivetran_database):
    with pytest.raises(SourceError, match=r"has no schema 'sfdc' \(it has: .*salesforce"):
        _ingest(tmp_path, fivetran_database, schema="sfdc")


def test_ids_are_normalized_like_the_landing_folders(tmp_path, fivetran_database):
    # a task written against the 15-character form of the deal's id, with a stray space
    with duckdb.connect(str(fivetran_database)) as con:
        con.execute("update salesforce.task set what_id = ' 006000000000001 '")
    con, _ = _ingest(tmp_path, fivetran_database)
    assert con.execute("select what_id from raw.task").fetchone()[0] == "006000000000001AAA"
