"""HubSpot, as Fivetran's HubSpot connector writes it, conformed to the contract.

    coverage = conform_hubspot(con, catalog="hubspot_db", schema="hubspot", raw_schema="raw",
                               mapping=load_mapping("mappings/hubspot.yml"), seeds_dir=Path("seeds"),
                               loaded_at=now)

Reads Fivetran's HubSpot tables in `catalog.schema` (a database attached to `con`) and
writes the eight contract objects into `<raw_schema>`, exactly typed, with `_source_file`,
`_source_row` and `_loaded_at`; returns the coverage rows (the caller writes them).

| contract object | HubSpot tables |
|---|---|
| opportunity | deal, deal_pipeline, deal_pipeline_stage, deal_company (+ company) |
| opportunity_history | deal_stage, deal_property_history (amount, closedate, hs_forecast_category) |
| task | engagement_call, engagement_email (+ engagement, engagement_deal) |
| event | engagement_meeting (+ engagement, engagement_deal) |
| user | owner, owner_team, team; manager from seeds/hubspot_managers.csv |
| account | company |
| lead | not read: HubSpot contacts are people, not leads (not tracked) |
| forecasting_quota | seeds/targets.csv |

Only deal and owner are required; every other table may be missing (an empty object,
not tracked). Stages go through seeds/hubspot_stage_map.csv (see `stages`). Which HubSpot
column feeds each contract column: `mappings/hubspot.yml` and the `*_DEFAULTS` of
`deals` and `people`. The raw tables are replaced in one transaction.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from revops.crm_contract import CRM_OBJECTS, GROWTH_OBJECTS
from revops.sources.conform import SourceError, write_contract_table
from revops.sources.coverage import CoverageRow, absent_object_coverage, object_coverage, required_columns
from revops.sources.hubspot.deals import (
    deal_keys,
    deal_table,
    history_plan,
    opportunity_plan,
    stage_events_sql,
)
from revops.sources.hubspot.engagements import engagement_plan
from revops.sources.hubspot.people import TEMP_TABLES, account_plan, owner_table, quota_plan, user_plan
from revops.sources.hubspot.plan import Context, Plan
from revops.sources.hubspot.schema import HubSpotSchema
from revops.sources.hubspot.seeds import read_project_stages, read_stage_map
from revops.sources.hubspot.stages import build_stage_lookup, drop_lookup
from revops.sources.mapping import SourceMapping

SOURCE = "hubspot"

__all__ = ["SOURCE", "SourceError", "conform_hubspot"]


def _plans(ctx: Context) -> dict[str, Plan | None]:
    deal, owner = deal_table(ctx), owner_table(ctx)
    keys = deal_keys(deal)
    stage_events = stage_events_sql(ctx, deal, keys)
    lookup = build_stage_lookup(
        ctx.hs, deal, keys, stage_events[0] if stage_events else None, ctx.stage_map, ctx.project_stages
    )
    deal_ids = f"(select {keys['id']} from {deal.sql} as d)"  # deleted deals too: raw keeps them, flagged
    lead = ctx.object("lead")
    if lead.source_name not in (None, "lead"):
        raise SourceError(
            f"the mapping reads lead from {lead.source_name!r}, but HubSpot has no leads table this "
            f"warehouse can read (contacts are people, not leads); set `lead: {{from: null}}`"
        )
    return {
        "user": user_plan(ctx, owner),
        "account": account_plan(ctx),
        "opportunity": opportunity_plan(ctx, deal, keys, lookup),
        "opportunity_history": history_plan(ctx, deal, keys, lookup, stage_events),
        "task": engagement_plan(ctx, "task", deal_ids),
        "event": engagement_plan(ctx, "event", deal_ids),
        "lead": None,
        "forecasting_quota": quota_plan(ctx),
        # HubSpot's schema has no marketing spend or subscriptions: not tracked
        **dict.fromkeys(GROWTH_OBJECTS),
    }


def conform_hubspot(
    con: duckdb.DuckDBPyConnection,
    *,
    catalog: str,
    schema: str,
    raw_schema: str,
    mapping: SourceMapping,
    seeds_dir: Path,
    loaded_at: dt.datetime,
) -> list[CoverageRow]:
    """Write every contract object into `<raw_schema>` from Fivetran's HubSpot `catalog.schema`.

    Raises SourceError (raw untouched) when deal or owner is missing, a minimum column
    has no source, a stage is not mapped, a seed is malformed or a value does not fit
    its contract type."""
    seeds_dir = Path(seeds_dir)
    project = read_project_stages(seeds_dir)
    ctx = Context(
        hs=HubSpotSchema(con, catalog, schema),
        mapping=mapping,
        seeds_dir=seeds_dir,
        project_stages=project,
        stage_map=read_stage_map(seeds_dir, project),
    )
    try:
        plans = _plans(ctx)
        for name, plan in plans.items():
            missing = [c for c in required_columns(name) if plan is None or c not in plan.select]
            if missing:
                raise SourceError(
                    f"HubSpot's {plan.label if plan else name} has nothing for {name}.{', '.join(missing)}: "
                    f"the minimum the warehouse needs. Map them in {mapping.path} if they have other names."
                )
        coverage: list[CoverageRow] = []
        con.execute("begin transaction")
        try:
            for obj in CRM_OBJECTS.values():
                plan = plans[obj.name]
                if plan is None:
                    write_contract_table(
                        con,
                        obj,
                        raw_schema,
                        expressions={},
                        from_sql=None,
                        label=f"{schema} (no {obj.name})",
                        loaded_at=loaded_at,
                    )
                    coverage += absent_object_coverage(obj, source=SOURCE)
                    continue
                count = write_contract_table(
                    con,
                    obj,
                    raw_schema,
                    expressions=plan.expressions(),
                    from_sql=plan.query(),
                    label=plan.label,
                    loaded_at=loaded_at,
                    order_by=plan.order_by,
                    extras=plan.extra_expressions(),
                )
                coverage += object_coverage(obj, source=SOURCE, row_count=count, mapped_from=plan.mapped_from)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return coverage
    finally:
        drop_lookup(con)
        for table in TEMP_TABLES:
            con.execute(f"drop table if exists temp.{table}")
