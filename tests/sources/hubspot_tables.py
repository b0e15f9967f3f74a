"""Hand-written HubSpot tables in Fivetran's HubSpot connector names and types.

Table and column names and types as Fivetran writes them (dbt_hubspot_source's
macros/get_*_columns.sql and integration_tests/seeds): integer ids, string pipeline and
stage ids, `property_<name>` columns, `is_deleted` / `_fivetran_deleted` flags. Two
pipelines share a stage label ("Qualified"); deal 304 is deleted; deal 302 has no
company; engagements of each kind, one on two deals, one deleted, one on no deal.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SYNCED = "2026-11-22 23:00:00"

TABLES: dict[str, tuple[str, list[tuple]]] = {
    "deal_pipeline": (
        "pipeline_id varchar, _fivetran_deleted boolean, _fivetran_synced timestamp, active boolean, "
        "display_order bigint, label varchar, created_at timestamp, updated_at timestamp",
        [
            ("default", False, SYNCED, True, 0, "Sales Pipeline", "2025-01-01", "2025-01-01"),
            ("555", False, SYNCED, True, 1, "Renewals", "2025-01-01", "2025-01-01"),
        ],
    ),
    "deal_pipeline_stage": (
        "_fivetran_deleted boolean, _fivetran_synced timestamp, active boolean, closed_won boolean, "
        "is_closed boolean, display_order bigint, probability double, stage_id varchar, label varchar, "
        "pipeline_id varchar, created_at timestamp, updated_at timestamp",
        [
            (
                False,
                SYNCED,
                True,
                False,
                False,
                0,
                0.2,
                "appointmentscheduled",
                "Appointment Scheduled",
                "default",
                "2025-01-01",
                "2025-01-01",
            ),
            (
                False,
                SYNCED,
                True,
                False,
                False,
                1,
                0.4,
                "qualifiedtobuy",
                "Qualified",
                "default",
                "2025-01-01",
                "2025-01-01",
            ),
            (
                False,
                SYNCED,
                True,
                False,
                False,
                2,
                0.9,
                "contractsent",
                "Contract Sent",
                "default",
                "2025-01-01",
                "2025-01-01",
            ),
            (
                False,
                SYNCED,
                True,
                True,
                True,
                3,
                1.0,
                "closedwon",
                "Closed Won",
                "default",
                "2025-01-01",
                "2025-01-01",
            ),
            (
                False,
                SYNCED,
                True,
                False,
                True,
                4,
                0.0,
                "closedlost",
                "Closed Lost",
                "default",
                "2025-01-01",
                "2025-01-01",
            ),
            (
                False,
                SYNCED,
                True,
                False,
                False,
                0,
                0.5,
                "1001",
                "Qualified",
                "555",
                "2025-01-01",
                "2025-01-01",
            ),
            (
                False,
                SYNCED,
                True,
                True,
                True,
                1,
                1.0,
                "1002",
                "Closed Won",
                "555",
                "2025-01-01",
                "2025-01-01",
            ),
        ],
    ),
    "deal": (
        "deal_id bigint, is_deleted boolean, deal_pipeline_id varchar, deal_pipeline_stage_id varchar, "
        "owner_id bigint, portal_id bigint, property_dealname varchar, property_description varchar, "
        "property_amount bigint, property_closedate timestamp, property_createdate timestamp, "
        "property_hs_lastmodifieddate timestamp, property_dealtype varchar, "
        "property_hs_forecast_category varchar, property_hs_analytics_source varchar, "
        "property_hs_next_step varchar, _fivetran_synced timestamp",
        [
            (
                301,
                False,
                "default",
                "qualifiedtobuy",
                101,
                4727653,
                "Acme expansion",
                None,
                50000,
                "2026-12-15 00:00:00",
                "2026-09-01 10:00:00",
                "2026-11-21 08:00:00",
                "newbusiness",
                "PIPELINE",
                "ORGANIC_SEARCH",
                "Send proposal",
                SYNCED,
            ),
            (
                302,
                False,
                "555",
                "1001",
                102,
                4727653,
                "Initech renewal",
                None,
                12000,
                "2027-01-31 00:00:00",
                "2026-10-05 09:30:00",
                "2026-11-20 08:00:00",
                "renewal",
                "BEST_CASE",
                "OFFLINE",
                None,
                SYNCED,
            ),
            (
                303,
                False,
                "default",
                "closedwon",
                101,
                4727653,
                "Acme first deal",
                None,
                30000,
                "2026-06-30 00:00:00",
                "2026-03-01 12:00:00",
                "2026-06-30 17:00:00",
                "existingbusiness",
                "CLOSED",
                "REFERRALS",
                None,
                SYNCED,
            ),
            (
                304,
                True,
                "default",
                "contractsent",
                101,
                4727653,
                "Deleted deal",
                None,
                999,
                "2026-12-01 00:00:00",
                "2026-08-01 12:00:00",
                "2026-08-02 12:00:00",
                "newbusiness",
                "COMMIT",
                None,
                None,
                SYNCED,
            ),
            (
                305,
                False,
                "555",
                "1002",
                103,
                4727653,
                "Globex renewal",
                None,
                8000,
                "2026-05-31 00:00:00",
                "2026-02-01 12:00:00",
                "2026-05-31 17:00:00",
                "something_else",
                "CLOSED",
                None,
                None,
                SYNCED,
            ),
        ],
    ),
    "deal_company": (
        "deal_id bigint, company_id bigint, type_id bigint, category varchar, _fivetran_synced timestamp",
        [
            (301, 202, 341, "HUBSPOT_DEFINED", SYNCED),  # a deleted company, not primary
            (301, 201, 5, "HUBSPOT_DEFINED", SYNCED),  # the primary company
            (303, 201, 341, "HUBSPOT_DEFINED", SYNCED),  # only a non-primary link
            (305, 202, 5, "HUBSPOT_DEFINED", SYNCED),  # a deleted company: no account
        ],
    ),
    "deal_stage": (
        "_fivetran_start timestamp, deal_id bigint, _fivetran_active boolean, _fivetran_end timestamp, "
        "_fivetran_synced timestamp, date_entered timestamp, source varchar, source_id varchar, value varchar",
        [
            (
                "2026-09-01 10:00:00",
                301,
                False,
                "2026-10-01 09:00:00",
                SYNCED,
                "2026-09-01 10:00:00",
                "CRM_UI",
                "a",
                "appointmentscheduled",
            ),
            (
                "2026-10-01 09:00:00",
                301,
                True,
                "9999-12-31 23:59:59",
                SYNCED,
                "2026-10-01 09:00:00",
                "CRM_UI",
                "a",
                "qualifiedtobuy",
            ),
            (
                "2026-10-05 09:30:00",
                302,
                True,
                "9999-12-31 23:59:59",
                SYNCED,
                "2026-10-05 09:30:00",
                "CRM_UI",
                "b",
                "1001",
            ),
            (
                "2026-08-01 12:00:00",
                304,
                True,
                "9999-12-31 23:59:59",
                SYNCED,
                "2026-08-01 12:00:00",
                "CRM_UI",
                "c",
                "contractsent",
            ),
        ],
    ),
    "deal_property_history": (
        "deal_id bigint, timestamp timestamp, _fivetran_synced timestamp, source varchar, name varchar, "
        "source_id varchar, value varchar",
        [
            (301, "2026-09-01 10:00:00", SYNCED, "CRM_UI", "amount", "a", "40000"),
            (301, "2026-09-01 10:00:00", SYNCED, "CRM_UI", "closedate", "a", "1796083200000"),  # 2026-12-01
            (301, "2026-09-01 10:00:00", SYNCED, "CRM_UI", "hs_forecast_category", "a", "PIPELINE"),
            (301, "2026-10-15 12:00:00", SYNCED, "CRM_UI", "amount", "a", "50000"),
            (301, "2026-10-20 00:00:00", SYNCED, "CRM_UI", "closedate", "a", "2026-12-15T00:00:00Z"),
            (301, "2026-11-01 08:00:00", SYNCED, "CRM_UI", "hs_forecast_category", "a", "BEST_CASE"),
            (301, "2026-11-02 08:00:00", SYNCED, "CRM_UI", "hs_forecast_category", "a", "PIPELINE"),
            (304, "2026-08-01 12:00:00", SYNCED, "CRM_UI", "amount", "c", "999"),
        ],
    ),
    "engagement": (
        "id bigint, type varchar, _fivetran_synced timestamp, portal_id bigint, owner_id bigint, "
        "timestamp timestamp, created_at timestamp, active boolean",
        [
            (401, "CALL", SYNCED, 4727653, 101, "2026-11-20 15:00:00", "2026-11-20 15:30:00", True),
            (402, "EMAIL", SYNCED, 4727653, 102, "2026-11-19 09:00:00", "2026-11-19 09:00:00", True),
            (403, "MEETING", SYNCED, 4727653, 102, "2026-11-18 14:00:00", "2026-11-10 11:00:00", True),
            (404, "CALL", SYNCED, 4727653, 101, "2026-11-17 10:00:00", "2026-11-17 10:10:00", True),
            (405, "NOTE", SYNCED, 4727653, 101, "2026-11-16 10:00:00", "2026-11-16 10:00:00", True),
            (406, "EMAIL", SYNCED, 4727653, 101, "2026-11-15 10:00:00", "2026-11-15 10:00:00", True),
        ],
    ),
    "engagement_call": (
        "engagement_id bigint, _fivetran_deleted boolean, _fivetran_synced timestamp, "
        "property_hs_createdate timestamp, property_hs_timestamp timestamp, property_hubspot_owner_id bigint, "
        "property_hubspot_team_id bigint, property_hs_call_title varchar, type varchar",
        [
            (
                401,
                False,
                SYNCED,
                "2026-11-20 15:30:00",
                "2026-11-20 15:00:00",
                101,
                None,
                "Discovery call",
                "CALL",
            ),
            (
                404,
                True,
                SYNCED,
                "2026-11-17 10:10:00",
                "2026-11-17 10:00:00",
                101,
                None,
                "Deleted call",
                "CALL",
            ),
        ],
    ),
    "engagement_email": (
        "engagement_id bigint, _fivetran_deleted boolean, _fivetran_synced timestamp, "
        "property_hs_createdate timestamp, property_hs_timestamp timestamp, property_hubspot_owner_id bigint, "
        "property_hubspot_team_id bigint, property_hs_email_subject varchar, type varchar",
        [
            (
                402,
                False,
                SYNCED,
                "2026-11-19 09:00:00",
                "2026-11-19 09:00:00",
                102,
                None,
                "Proposal",
                "EMAIL",
            ),
            # v3 columns empty: owner and timestamp from engagement
            (406, False, SYNCED, None, None, None, None, "Newsletter", "EMAIL"),
        ],
    ),
    "engagement_meeting": (
        "engagement_id bigint, _fivetran_deleted boolean, _fivetran_synced timestamp, "
        "property_hs_createdate timestamp, property_hs_timestamp timestamp, property_hubspot_owner_id bigint, "
        "property_hubspot_team_id bigint, property_hs_meeting_title varchar, "
        "property_hs_meeting_start_time timestamp, property_hs_meeting_end_time timestamp, type varchar",
        [
            (
                403,
                False,
                SYNCED,
                "2026-11-10 11:00:00",
                "2026-11-18 14:00:00",
                102,
                None,
                "Demo",
                "2026-11-18 14:00:00",
                "2026-11-18 15:00:00",
                "MEETING",
            ),
        ],
    ),
    "engagement_deal": (
        "deal_id bigint, engagement_id bigint, engagement_type varchar, type_id bigint, "
        "_fivetran_synced timestamp, category varchar",
        [
            (301, 401, "CALL", 206, SYNCED, "HUBSPOT_DEFINED"),
            (301, 402, "EMAIL", 210, SYNCED, "HUBSPOT_DEFINED"),
            (302, 402, "EMAIL", 210, SYNCED, "HUBSPOT_DEFINED"),
            (302, 403, "MEETING", 212, SYNCED, "HUBSPOT_DEFINED"),
            (301, 404, "CALL", 206, SYNCED, "HUBSPOT_DEFINED"),
            (301, 405, "NOTE", 214, SYNCED, "HUBSPOT_DEFINED"),
        ],
    ),
    "owner": (
        "owner_id bigint, _fivetran_synced timestamp, created_at timestamp, portal_id bigint, type varchar, "
        "updated_at timestamp, email varchar, first_name varchar, last_name varchar, active_user_id bigint",
        [
            (
                101,
                SYNCED,
                "2024-01-10 09:00:00",
                4727653,
                "PERSON",
                SYNCED,
                "ada@example.com",
                "Ada",
                "Lovelace",
                9001,
            ),
            (
                102,
                SYNCED,
                "2024-02-10 09:00:00",
                4727653,
                "PERSON",
                SYNCED,
                "grace@example.com",
                "Grace",
                "Hopper",
                9002,
            ),
            (
                103,
                SYNCED,
                "2024-03-10 09:00:00",
                4727653,
                "PERSON",
                SYNCED,
                "former@example.com",
                None,
                None,
                None,
            ),
        ],
    ),
    "owner_team": (
        "owner_id bigint, team_id bigint, is_team_primary boolean, _fivetran_synced timestamp",
        [(101, 11, True, SYNCED), (102, 11, False, SYNCED), (102, 12, True, SYNCED)],
    ),
    "team": (
        "id bigint, name varchar, _fivetran_synced timestamp",
        [(11, "Enterprise", SYNCED), (12, "SMB", SYNCED)],
    ),
    "company": (
        "id bigint, is_deleted boolean, _fivetran_synced timestamp, property_name varchar, "
        "property_description varchar, property_createdate timestamp, property_industry varchar, "
        "property_address varchar, property_city varchar, property_country varchar, "
        "property_annualrevenue bigint, property_numberofemployees double, property_hubspot_owner_id bigint",
        [
            (
                201,
                False,
                SYNCED,
                "Acme",
                None,
                "2025-05-01 08:00:00",
                "Software",
                None,
                "Berlin",
                "Germany",
                12000000,
                250.0,
                101,
            ),
            (
                202,
                True,
                SYNCED,
                "Globex",
                None,
                "2025-06-01 08:00:00",
                "Retail",
                None,
                None,
                "France",
                None,
                None,
                102,
            ),
        ],
    ),
}

SEEDS = {
    "hubspot_stage_map.csv": (
        "pipeline,stage,stage_name\n"
        "default,Appointment Scheduled,Problem Acknowledged\n"  # stage by label
        "default,qualifiedtobuy,Exploring Solutions\n"  # stage by id
        "Sales Pipeline,Contract Sent,Finalizing Terms\n"  # pipeline by label
        "Renewals,Qualified,Validating Fit\n"  # the same label, another pipeline, another stage
    ),  # Closed Won / Closed Lost: labels that are project stage names
    "hubspot_managers.csv": "owner_id,manager_owner_id\n102,101\n",
    "targets.csv": "owner_id,month_start,amount\n101,2026-11-01,100000\n102,2026-11-01,50000.5\n",
}


def write_hubspot_database(path: Path, schema: str = "hubspot", *, without: tuple[str, ...] = ()) -> Path:
    with duckdb.connect(str(path)) as con:
        catalog = con.execute("select current_database()").fetchone()[0]
        qualified = f'"{catalog}"."{schema}"'  # the file stem may be the schema's name too
        con.execute(f"create schema if not exists {qualified}")
        for name, (columns, rows) in TABLES.items():
            if name in without:
                continue
            con.execute(f'create table {qualified}."{name}" ({columns})')
            if rows:
                marks = ", ".join("?" for _ in rows[0])
                con.executemany(f'insert into {qualified}."{name}" values ({marks})', rows)
    return path


def write_seeds(folder: Path, overrides: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**SEEDS, **(overrides or {})}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
