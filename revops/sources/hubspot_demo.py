"""The demo CRM in HubSpot's shape: Fivetran's HubSpot tables from a demo landing folder.

    counts = write_hubspot_demo(Path("data/landing"), Path("data/hubspot/hubspot.duckdb"))

Reads a contract-shaped landing folder (`revops_demo.generate_demo_data`) and writes a
DuckDB database holding, in schema `schema`, every table `revops.sources.hubspot` reads,
with Fivetran's names and types. Beside the database (`demo_seeds_dir`) it writes the
seeds the team would edit for this portal, and a mapping file (`demo_mapping_path`)
naming the demo's three custom deal properties:

- `hubspot_stage_map.csv`: two pipelines, "Sales Pipeline" (id `default`: new business and
  expansion) and "Renewals" (renewals), each with every stage of seeds/stage_map.csv under
  the same labels, so labels repeat across pipelines and the map is keyed by both ids;
- `hubspot_managers.csv` (the users' manager_id) and `targets.csv` (forecasting_quota).

Conformed back (`conform_hubspot`), the raw tables hold the same deals, stages, amounts,
close dates, owners, quotas and interactions as the landing folder loaded directly, with
HubSpot's integer ids (`hubspot_id`). What HubSpot cannot carry: user titles, leads, a
deal probability other than its stage's, history rows where only the probability or
forecast category changed, tasks that are not logged calls or emails, interactions logged
on an account rather than a deal, and task who_id. Objects missing from the folder
(`--without`) are missing tables.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import yaml

from revops.crm_contract import CRM_OBJECTS
from revops.landing import LandingFileError, find_landing_file, load_landing_object
from revops.paths import SEEDS_DIR
from revops.sources.hubspot.plan import DEAL_TYPES, DEFAULT_TABLES, FORECAST_CATEGORIES
from revops.sources.hubspot.seeds import MANAGERS_FILE, STAGE_MAP_FILE, TARGETS_FILE
from revops.sql import one_row, quote_literal

# HubSpot id = base + the number in the demo's Salesforce-like id (`006000000000000042` -> 42)
ID_BASES = {
    "005": 10_000_000,  # owners
    "001": 20_000_000_000,  # companies
    "006": 30_000_000_000,  # deals
    "00T": 40_000_000_000,  # call and email engagements
    "00U": 50_000_000_000,  # meeting engagements
}
PORTAL_ID = 4_727_653
PIPELINES = (  # (id, label, display order, the deal types in it, first stage id)
    ("default", "Sales Pipeline", 0, ("New Business", "Expansion"), 110_001),
    ("7000001", "Renewals", 1, ("Renewal",), 120_001),
)
CUSTOM_PROPERTIES = {  # contract column -> the demo portal's custom deal property
    "next_step_date_c": "property_next_step_date",
    "trigger_event_c": "property_trigger_event",
    "technical_fit_c": "property_technical_fit",
}
_FORECAST_CODES = {label: code for code, label in FORECAST_CATEGORIES.items()}
_DEALTYPE_CODES = {"New Business": "newbusiness", "Expansion": "existingbusiness", "Renewal": "renewal"}
assert all(DEAL_TYPES[code] == label for label, code in _DEALTYPE_CODES.items())


def hubspot_id(salesforce_id: str | None) -> int | None:
    """The HubSpot id the demo gives a record of the landing folder."""
    if salesforce_id is None:
        return None
    return ID_BASES[salesforce_id[:3]] + int(salesforce_id[3:])


def demo_seeds_dir(database_path: Path) -> Path:
    return Path(database_path).with_name(f"{Path(database_path).stem}_seeds")


def demo_mapping_path(database_path: Path) -> Path:
    return Path(database_path).with_name(f"{Path(database_path).stem}_mapping.yml")


def _id(column: str) -> str:
    """SQL: the HubSpot id of a landing id column."""
    cases = " ".join(f"when '{prefix}' then {base}" for prefix, base in ID_BASES.items())
    return f"(case left({column}, 3) {cases} end + cast(substr({column}, 4) as bigint))"


def _case(column: str, mapping: dict[str, str]) -> str:
    cases = " ".join(f"when '{k}' then '{v}'" for k, v in mapping.items())
    return f"(case {column} {cases} else {column} end)"


def _load_landing(con: duckdb.DuckDBPyConnection, landing_dir: Path) -> set[str]:
    if not Path(landing_dir).is_dir():
        raise FileNotFoundError(f"the landing folder {landing_dir} does not exist")
    present = set()
    for obj in CRM_OBJECTS.values():
        try:
            find_landing_file(landing_dir, obj)
        except LandingFileError:
            continue  # an object the demo was made --without
        load_landing_object(con, obj, landing_dir, raw_schema="landing")
        present.add(obj.name)
    missing = {"user", "opportunity"} - present
    if missing:
        raise FileNotFoundError(
            f"the landing folder {landing_dir} has no {' or '.join(sorted(missing))} file"
        )
    return present


def _stage_rows(seeds_dir: Path) -> list[tuple]:
    """(pipeline id, pipeline label, pipeline order, stage id, stage name, stage order, is_closed,
    is_won, probability) for every stage of `stage_map.csv` in every pipeline."""
    with (Path(seeds_dir) / "stage_map.csv").open(newline="", encoding="utf-8") as handle:
        stages = sorted(csv.DictReader(handle), key=lambda r: int(r["stage_order"]))
    return [
        (
            pipeline_id,
            label,
            order,
            str(first + i),
            s["stage_name"],
            i,
            s["is_closed"] == "true",
            s["is_won"] == "true",
            float(s["default_probability"]),
        )
        for pipeline_id, label, order, _, first in PIPELINES
        for i, s in enumerate(stages)
    ]


def _pipeline_of(deal_type: str) -> str:
    cases = " ".join(
        f"when {deal_type} in ({', '.join(repr(t) for t in types)}) then '{pid}'"
        for pid, _, _, types, _ in PIPELINES
    )
    return f"(case {cases} else 'default' end)"


def _tables(present: set[str], synced: str) -> dict[str, str]:
    """HubSpot table -> its query over the landing tables (`landing.<object>`)."""
    tables: dict[str, str] = {}
    tables["owner"] = f"""
        select {_id("u.id")} as owner_id, {synced} as _fivetran_synced, u.created_date as created_at,
            {PORTAL_ID} as portal_id, 'PERSON' as type, u.created_date as updated_at, u.email,
            split_part(u.name, ' ', 1) as first_name,
            nullif(trim(substr(u.name, length(split_part(u.name, ' ', 1)) + 1)), '') as last_name,
            case when u.is_active then {_id("u.id")} + 900000000 end as active_user_id
        from landing.user as u"""
    tables["_demo_team"] = """
        select cast(row_number() over (order by department) as bigint) as id, department as name
        from (select distinct department from landing.user where department is not null)"""
    tables["team"] = f"select id, name, {synced} as _fivetran_synced from _demo_team"
    tables["owner_team"] = f"""
        select {_id("u.id")} as owner_id, t.id as team_id, true as is_team_primary, {synced} as _fivetran_synced
        from landing.user as u join _demo_team as t on t.name = u.department"""
    if "account" in present:
        tables["company"] = f"""
            select {_id("a.id")} as id, false as is_deleted, {synced} as _fivetran_synced,
                a.name as property_name, cast(null as varchar) as property_description,
                a.created_date as property_createdate, a.industry as property_industry,
                a.billing_country as property_country, a.annual_revenue as property_annualrevenue,
                a.number_of_employees as property_numberofemployees,
                {_id("a.owner_id")} as property_hubspot_owner_id
            from landing.account as a"""
    tables["deal"] = f"""
        select {_id("o.id")} as deal_id, coalesce(o.is_deleted, false) as is_deleted,
            p.pipeline_id as deal_pipeline_id, p.stage_id as deal_pipeline_stage_id,
            {_id("o.owner_id")} as owner_id, {PORTAL_ID} as portal_id,
            o.name as property_dealname, cast(null as varchar) as property_description,
            o.amount as property_amount, cast(o.close_date as timestamp) as property_closedate,
            o.created_date as property_createdate, o.last_modified_date as property_hs_lastmodifieddate,
            {_case("o.type", _DEALTYPE_CODES)} as property_dealtype,
            {_case("o.forecast_category_name", _FORECAST_CODES)} as property_hs_forecast_category,
            o.lead_source as property_hs_analytics_source, o.next_step as property_hs_next_step,
            o.next_step_date_c as {CUSTOM_PROPERTIES["next_step_date_c"]},
            o.trigger_event_c as {CUSTOM_PROPERTIES["trigger_event_c"]},
            o.technical_fit_c as {CUSTOM_PROPERTIES["technical_fit_c"]},
            {synced} as _fivetran_synced
        from landing.opportunity as o
        left join _demo_stage as p on p.pipeline_id = {_pipeline_of("o.type")} and p.stage_name = o.stage_name"""
    if "account" in present:
        tables["deal_company"] = f"""
            select {_id("o.id")} as deal_id, {_id("o.account_id")} as company_id, cast(5 as bigint) as type_id,
                'HUBSPOT_DEFINED' as category, {synced} as _fivetran_synced
            from landing.opportunity as o where o.account_id is not null"""
    tables["deal_pipeline"] = f"""
        select distinct pipeline_id, false as _fivetran_deleted, {synced} as _fivetran_synced, true as active,
            cast(pipeline_order as bigint) as display_order, pipeline_label as label,
            {synced} as created_at, {synced} as updated_at
        from _demo_stage"""
    tables["deal_pipeline_stage"] = f"""
        select false as _fivetran_deleted, {synced} as _fivetran_synced, true as active, is_won as closed_won,
            is_closed, cast(stage_order as bigint) as display_order, probability, stage_id, stage_name as label,
            pipeline_id, {synced} as created_at, {synced} as updated_at
        from _demo_stage"""
    if "opportunity_history" in present:
        changes = f"""(
            select {_id("h.opportunity_id")} as deal_id, h.created_date as changed_at, p.stage_id, h.amount,
                h.close_date, {_case("h.forecast_category", _FORECAST_CODES)} as forecast_code,
                row_number() over w = 1 as is_first,
                h.stage_name is distinct from lag(h.stage_name) over w as stage_changed,
                h.amount is distinct from lag(h.amount) over w as amount_changed,
                h.close_date is distinct from lag(h.close_date) over w as close_changed,
                h.forecast_category is distinct from lag(h.forecast_category) over w as forecast_changed
            from landing.opportunity_history as h
            join landing.opportunity as o on o.id = h.opportunity_id
            left join _demo_stage as p on p.pipeline_id = {_pipeline_of("o.type")} and p.stage_name = h.stage_name
            where not coalesce(h.is_deleted, false)
            window w as (partition by h.opportunity_id order by h.created_date)
        )"""
        tables["deal_stage"] = f"""
            select changed_at as _fivetran_start, deal_id,
                lead(changed_at) over w is null as _fivetran_active,
                coalesce(lead(changed_at) over w, timestamp '9999-12-31 23:59:59') as _fivetran_end,
                {synced} as _fivetran_synced, changed_at as date_entered, 'CRM_UI' as source,
                cast(null as varchar) as source_id, stage_id as value
            from {changes} where stage_changed
            window w as (partition by deal_id order by changed_at)"""
        properties = {
            "amount": ("amount_changed", "coalesce(cast(amount as varchar), '')"),
            "closedate": (
                "close_changed",
                "coalesce(cast(epoch_ms(cast(close_date as timestamp)) as varchar), '')",
            ),
            "hs_forecast_category": ("forecast_changed", "coalesce(forecast_code, '')"),
            "dealstage": ("stage_changed", "stage_id"),
        }
        tables["deal_property_history"] = " union all ".join(
            f"select deal_id, changed_at as timestamp, {synced} as _fivetran_synced, 'CRM_UI' as source, "
            f"'{name}' as name, cast(null as varchar) as source_id, {value} as value "
            f"from {changes} where {flag}"
            for name, (flag, value) in properties.items()
        )
    engagement_parts = []
    if "task" in present:
        engagement_parts.append(f"""
            select {_id("t.id")} as id, upper(t.task_subtype) as type, {_id("t.owner_id")} as owner_id,
                coalesce(t.completed_date_time, cast(t.activity_date as timestamp)) as timestamp,
                t.created_date as created_at, t.subject, coalesce(t.is_deleted, false) as is_deleted,
                cast(null as timestamp) as start_time, cast(null as timestamp) as end_time, t.what_id
            from landing.task as t
            where t.status = 'Completed' and t.task_subtype in ('Call', 'Email') and left(t.what_id, 3) = '006'""")
    if "event" in present:
        engagement_parts.append(f"""
            select {_id("e.id")} as id, 'MEETING' as type, {_id("e.owner_id")} as owner_id,
                e.start_date_time as timestamp, e.created_date as created_at, e.subject,
                coalesce(e.is_deleted, false) as is_deleted, e.start_date_time as start_time,
                e.end_date_time as end_time, e.what_id
            from landing.event as e where left(e.what_id, 3) = '006'""")
    if engagement_parts:
        tables["_demo_engagement"] = " union all ".join(engagement_parts)
        tables["engagement"] = f"""
            select id, type, {synced} as _fivetran_synced, {PORTAL_ID} as portal_id, owner_id, timestamp,
                created_at, not is_deleted as active
            from _demo_engagement"""
        common = (
            f"engagement_id, is_deleted as _fivetran_deleted, {synced} as _fivetran_synced, "
            "created_at as property_hs_createdate, timestamp as property_hs_timestamp, "
            "owner_id as property_hubspot_owner_id, cast(null as bigint) as property_hubspot_team_id"
        )
        for table, kind, extra in (
            ("engagement_call", "CALL", "subject as property_hs_call_title"),
            ("engagement_email", "EMAIL", "subject as property_hs_email_subject"),
            (
                "engagement_meeting",
                "MEETING",
                "subject as property_hs_meeting_title, "
                "start_time as property_hs_meeting_start_time, end_time as property_hs_meeting_end_time",
            ),
        ):
            if ("event" if kind == "MEETING" else "task") in present:
                tables[table] = (
                    f"select {common}, {extra}, type from (select id as engagement_id, * from _demo_engagement) "
                    f"where type = '{kind}'"
                )
        tables["engagement_deal"] = f"""
            select {_id("what_id")} as deal_id, id as engagement_id, type as engagement_type,
                cast(null as bigint) as type_id, {synced} as _fivetran_synced, 'HUBSPOT_DEFINED' as category
            from _demo_engagement"""
    return tables


def _write_seeds(con: duckdb.DuckDBPyConnection, seeds_dir: Path, present: set[str]) -> dict[str, int]:
    seeds_dir.mkdir(parents=True, exist_ok=True)
    queries = {
        STAGE_MAP_FILE: (
            "pipeline,stage,stage_name",
            "select pipeline_id, stage_id, stage_name from _demo_stage order by all",
        ),
        MANAGERS_FILE: (
            "owner_id,manager_owner_id",
            f"select {_id('id')}, {_id('manager_id')} from landing.user where manager_id is not null order by all",
        ),
        TARGETS_FILE: (
            "owner_id,month_start,amount",
            f"select {_id('quota_owner_id')}, start_date, quota_amount from landing.forecasting_quota order by all"
            if "forecasting_quota" in present
            else None,
        ),
    }
    counts = {}
    for name, (header, query) in queries.items():
        rows = con.execute(query).fetchall() if query else []
        with (seeds_dir / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header.split(","))
            writer.writerows(rows)
        counts[f"{seeds_dir.name}/{name}"] = len(rows)
    return counts


def _write_mapping(path: Path) -> None:
    objects: dict[str, dict[str, Any]] = {name: {"from": table} for name, table in DEFAULT_TABLES.items()}
    objects["opportunity"]["columns"] = dict(CUSTOM_PROPERTIES)
    objects["user"]["columns"] = {"title": None}
    document = {
        "source": "hubspot",
        "seeds_dir": demo_seeds_dir(path.with_name(path.name.replace("_mapping.yml", ".duckdb"))).name,
        "objects": objects,
    }
    text = yaml.safe_dump(document, sort_keys=False)
    path.write_text(
        "# The demo HubSpot portal's mapping: mappings/hubspot.yml plus its three custom deal\n"
        "# properties, and its stage map, managers and targets in seeds_dir (beside this file)\n"
        "# (written by revops.sources.hubspot_demo).\n" + text,
        encoding="utf-8",
    )


def write_hubspot_demo(landing_dir: Path, database_path: Path, schema: str = "hubspot") -> dict[str, int]:
    """Write Fivetran's HubSpot tables for the demo folder `landing_dir` into `database_path`
    (replaced), its seeds into `demo_seeds_dir(database_path)` and its mapping file into
    `demo_mapping_path(database_path)`; return the rows written per table and seed."""
    database_path = Path(database_path)
    database_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (database_path, database_path.with_name(database_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        present = _load_landing(con, Path(landing_dir))
        stages = _stage_rows(SEEDS_DIR)
        con.execute(
            "create temp table _demo_stage (pipeline_id varchar, pipeline_label varchar, pipeline_order integer, "
            "stage_id varchar, stage_name varchar, stage_order integer, is_closed boolean, is_won boolean, "
            "probability double)"
        )
        con.executemany("insert into _demo_stage values (?, ?, ?, ?, ?, ?, ?, ?, ?)", stages)
        synced = "(select max(last_modified_date) from landing.opportunity)"
        con.execute(f"attach {quote_literal(str(database_path))} as hubspot_demo")
        con.execute(f'create schema hubspot_demo."{schema}"')
        counts: dict[str, int] = {}
        for table, query in _tables(present, synced).items():
            if table.startswith("_demo_"):
                con.execute(f"create temp table {table} as {query}")
                continue
            con.execute(f'create table hubspot_demo."{schema}"."{table}" as {query}')
            counts[table] = one_row(con, f'select count(*) from hubspot_demo."{schema}"."{table}"')[0]
        counts.update(_write_seeds(con, demo_seeds_dir(database_path), present))
        _write_mapping(demo_mapping_path(database_path))
        con.execute("detach hubspot_demo")
        return counts
    finally:
        con.close()


__all__ = ["demo_mapping_path", "demo_seeds_dir", "hubspot_id", "write_hubspot_demo"]
