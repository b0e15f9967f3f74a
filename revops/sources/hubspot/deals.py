"""Deals: `opportunity` from deal (+ pipelines, stages, the primary company) and
`opportunity_history` from deal_stage and deal_property_history.

History: one row wherever the stage, amount or close date changed, carrying the values
in force at that moment (the stage entered last, the amount and close date set last,
the forecast category set last). A forecast-category change alone makes no row, as in
Salesforce's OpportunityHistory. Without deal_stage, `dealstage` rows of
deal_property_history give the stages. Rows of a deleted deal are deleted with it.
"""

from __future__ import annotations

from collections.abc import Mapping

from revops.sources.conform import SourceError, SourceTable
from revops.sources.hubspot.plan import Context, Plan, deal_type_sql, forecast_label_sql
from revops.sources.hubspot.schema import (
    deleted_sql,
    first_column,
    id_sql,
    mapped_column,
    not_deleted_sql,
    reject_explicit,
    timestamp_sql,
)
from revops.sources.hubspot.stages import STAGE_BY_ID_TABLE, STAGE_TABLE, StageLookup
from revops.sql import quote_identifier

STAGE_MAP_ORIGIN = "via seeds/hubspot_stage_map.csv"
PRIMARY_DEAL_COMPANY_TYPE_ID = 5  # HubSpot's association type "deal to company, primary"
COMPUTED_OPPORTUNITY_COLUMNS = (
    "id",
    "account_id",
    "stage_name",
    "is_closed",
    "is_won",
    "probability",
    "is_deleted",
)
HISTORY_PROPERTIES = ("amount", "closedate", "hs_forecast_category", "dealstage")

# contract column -> HubSpot columns tried in turn when the mapping file does not name one
OPPORTUNITY_DEFAULTS: dict[str, tuple[str, ...]] = {
    "owner_id": ("owner_id", "property_hubspot_owner_id"),
    "name": ("property_dealname",),
    "amount": ("property_amount",),
    "close_date": ("property_closedate",),
    "created_date": ("property_createdate",),
    "last_modified_date": ("property_hs_lastmodifieddate",),
    "forecast_category_name": ("property_hs_forecast_category",),
    "lead_source": ("property_hs_analytics_source",),
    "type": ("property_dealtype",),
    "next_step": ("property_hs_next_step",),
    "next_step_date_c": (),  # HubSpot has none: only a custom property the mapping names
    "trigger_event_c": (),
    "technical_fit_c": (),
}
_TIMESTAMP_COLUMNS = ("created_date", "last_modified_date")
_ID_COLUMNS = ("owner_id",)


def deal_table(ctx: Context) -> SourceTable:
    name = ctx.object("opportunity").source_name or "deal"
    table = ctx.hs.table(name)
    if table is None:
        raise SourceError(
            f"The HubSpot schema {ctx.hs.catalog}.{ctx.hs.schema} has no table {name}: deals are "
            f"required. Check the source schema setting and that the connector syncs deals."
        )
    return table


def deal_keys(deal: SourceTable) -> dict[str, str | None]:
    """SQL over `deal as d`: id, pipeline, stage, live (not deleted), deleted."""
    id_column = first_column(deal, ("deal_id", "id"))
    stage = first_column(deal, ("deal_pipeline_stage_id", "property_dealstage"))
    pipeline = first_column(deal, ("deal_pipeline_id", "property_pipeline"))
    missing = [
        what for what, col in (("deal_id", id_column), ("deal_pipeline_stage_id", stage)) if col is None
    ]
    if missing:
        raise SourceError(
            f"{deal.label} has no column {' or '.join(missing)}: a deal's id and stage are required "
            f"(it has: {', '.join(sorted(deal.columns))})"
        )
    assert id_column is not None and stage is not None  # the check above raised otherwise
    deleted = deleted_sql(deal, "d")
    return {
        "id": id_sql(deal, "d", id_column),
        "id_column": id_column,
        "stage": id_sql(deal, "d", stage),
        "stage_column": stage,
        "pipeline": id_sql(deal, "d", pipeline) if pipeline else "cast(null as varchar)",
        "live": not_deleted_sql(deal, "d"),
        "deleted": deleted[0] if deleted else "false",
        "deleted_from": deleted[1] if deleted else None,
    }


def _primary_company_sql(ctx: Context) -> tuple[str, str] | None:
    """(a query of deal_id, company_id: each deal's primary live company, its origin), or None
    when deal_company or company is missing (then account_id is not tracked)."""
    link, company = ctx.hs.table("deal_company"), ctx.hs.table(ctx.object("account").source_name)
    company_id = first_column(company, ("id", "company_id"))
    if (
        link is None
        or company is None
        or company_id is None
        or not {"deal_id", "company_id"} <= set(link.columns)
    ):
        return None
    primary = (
        f"case when dc.type_id = {PRIMARY_DEAL_COMPANY_TYPE_ID} then 0 else 1 end, "
        if "type_id" in link.columns
        else ""
    )
    sql = f"""(
        select deal_id, company_id from (
            select {id_sql(link, "dc", "deal_id")} as deal_id, {id_sql(link, "dc", "company_id")} as company_id,
                row_number() over (
                    partition by dc.deal_id order by {primary}dc.company_id
                ) as link_rank
            from {link.sql} as dc
            where {not_deleted_sql(link, "dc")}
                and {id_sql(link, "dc", "company_id")} in (
                    select {id_sql(company, "c", company_id)} from {company.sql} as c
                    where {not_deleted_sql(company, "c")}
                )
        ) where link_rank = 1
    )"""
    return sql, f"{link.label}.company_id (the primary company)"


def opportunity_plan(
    ctx: Context, deal: SourceTable, keys: Mapping[str, str | None], lookup: StageLookup
) -> Plan:
    mapping = ctx.object("opportunity")
    reject_explicit(
        mapping, COMPUTED_OPPORTUNITY_COLUMNS, "they come from the deal's id, pipeline stage and companies"
    )
    company = _primary_company_sql(ctx)
    joins = [
        f"left join temp.{STAGE_TABLE} as s on s.pipeline_id = {keys['pipeline']} and s.stage_id = {keys['stage']}",
        f"left join temp.{STAGE_BY_ID_TABLE} as s2 on s2.stage_id = {keys['stage']}",
    ]
    if company:
        joins.append(f"left join {company[0]} as company on company.deal_id = {keys['id']}")
    plan = Plan(label=deal.label, from_clause=f"{deal.sql} as d " + " ".join(joins), order_by='src."id"')
    stage_origin = f"{deal.label}.{keys['stage_column']} {STAGE_MAP_ORIGIN}"
    plan.add("id", keys["id"], f"{deal.label}.{keys['id_column']}")
    plan.add("account_id", "company.company_id" if company else None, company[1] if company else None)
    for column, defaults in OPPORTUNITY_DEFAULTS.items():
        source = mapped_column(deal, mapping, column, defaults)
        if source is None:
            continue
        sql = (
            id_sql(deal, "d", source)
            if column in _ID_COLUMNS
            else timestamp_sql(deal, "d", source)
            if column in (*_TIMESTAMP_COLUMNS, "close_date")
            else f"d.{quote_identifier(source)}"
        )
        if column == "forecast_category_name":
            sql = forecast_label_sql(sql)
        elif column == "type":
            sql = deal_type_sql(sql)
        plan.add(column, sql, f"{deal.label}.{source}")
    plan.add("stage_name", "coalesce(s.stage_name, s2.stage_name)", stage_origin)
    plan.add("is_closed", "coalesce(s.is_closed, s2.is_closed)", lookup.flags_from)
    plan.add("is_won", "coalesce(s.is_won, s2.is_won)", lookup.flags_from)
    if lookup.probability_from:
        plan.add("probability", "coalesce(s.probability, s2.probability)", lookup.probability_from)
    plan.add(
        "is_deleted", keys["deleted"], keys["deleted_from"] or f"{deal.label} (no delete flag: none deleted)"
    )
    for column in mapping.pass_through:
        name = column.lower()
        if name not in deal.columns:
            raise SourceError(
                f"the mapping passes through {column} of {deal.label}, which has no such column "
                f"(HubSpot properties are named property_<internal name>)"
            )
        plan.extras[name] = f"d.{quote_identifier(name)}"
    return plan


# --------------------------------------------------------------------------- history


def _date_value_sql(value: str) -> str:
    """A HubSpot date property value as written in property history: epoch milliseconds or ISO."""
    return (
        f"case when regexp_full_match(trim({value}), '[0-9]+') then cast(epoch_ms(cast(trim({value}) as bigint)) as date) "
        f"else cast(try_cast(trim({value}) as timestamp) as date) end"
    )


def stage_events_sql(
    ctx: Context, deal: SourceTable, keys: Mapping[str, str | None]
) -> tuple[str, str, str] | None:
    """(a query of deal_id, changed_at, stage_id for every stage a live deal entered, its
    origin, the table's label), or None when there is no stage history."""
    stages, properties = ctx.hs.table("deal_stage"), ctx.hs.table("deal_property_history")
    live_deals = f"(select {keys['id']} from {deal.sql} as d where {keys['live']})"
    if stages is not None and {"deal_id", "value"} <= set(stages.columns):
        when = [
            timestamp_sql(stages, "ds", c) for c in ("date_entered", "_fivetran_start") if c in stages.columns
        ]
        if not when:
            raise SourceError(
                f"{stages.label} has neither date_entered nor _fivetran_start: when was each stage entered?"
            )
        changed_at = when[0] if len(when) == 1 else f"coalesce({', '.join(when)})"
        deal_id = id_sql(stages, "ds", "deal_id")
        return (
            f"select {deal_id} as deal_id, {changed_at} as changed_at, nullif(trim(cast(ds.value as varchar)), '') as stage_id "
            f"from {stages.sql} as ds where {not_deleted_sql(stages, 'ds')} and {deal_id} in {live_deals}",
            f"{stages.label}.value {STAGE_MAP_ORIGIN}",
            stages.label,
        )
    if properties is not None and {"deal_id", "name", "value", "timestamp"} <= set(properties.columns):
        deal_id = id_sql(properties, "ph", "deal_id")
        return (
            f"select {deal_id} as deal_id, {timestamp_sql(properties, 'ph', 'timestamp')} as changed_at, "
            f"nullif(trim(cast(ph.value as varchar)), '') as stage_id from {properties.sql} as ph "
            f"where ph.name = 'dealstage' and {deal_id} in {live_deals}",
            f"{properties.label} (dealstage) {STAGE_MAP_ORIGIN}",
            properties.label,
        )
    return None


def history_plan(
    ctx: Context,
    deal: SourceTable,
    keys: Mapping[str, str | None],
    lookup: StageLookup,
    stage_events: tuple[str, str, str] | None,
) -> Plan | None:
    """The history plan, or None when HubSpot has no history tables (not tracked)."""
    mapping = ctx.object("opportunity_history")
    if mapping.source_name is None:
        return None
    reject_explicit(
        mapping, tuple(mapping.columns), "history comes from deal_stage and deal_property_history"
    )
    properties = ctx.hs.table("deal_property_history")
    if properties is not None and not {"deal_id", "name", "value", "timestamp"} <= set(properties.columns):
        properties = None
    if stage_events is None and properties is None:
        return None
    events = [  # typed and empty: every column the others may lack
        "select cast(null as varchar) as deal_id, cast(null as timestamp) as changed_at, "
        "cast(null as varchar) as stage_id, false as is_change where false"
    ]
    if stage_events:
        events.append(f"select deal_id, changed_at, stage_id, true as is_change from ({stage_events[0]})")
    if properties is not None:
        value = "cast(ph.value as varchar)"
        changes = {
            "amount": (f"{{'v': try_cast(nullif(trim({value}), '') as double)}}", "amount_v", "true"),
            "closedate": (f"{{'v': {_date_value_sql(value)}}}", "close_v", "true"),
            "hs_forecast_category": (f"{{'v': {forecast_label_sql(value)}}}", "forecast_v", "false"),
        }
        for name, (sql, alias, is_change) in changes.items():
            events.append(
                f"select {id_sql(properties, 'ph', 'deal_id')} as deal_id, "
                f"{timestamp_sql(properties, 'ph', 'timestamp')} as changed_at, {sql} as {alias}, "
                f"{is_change} as is_change from {properties.sql} as ph where ph.name = '{name}'"
            )
    deals = (
        f"select {keys['id']} as deal_id, {keys['pipeline']} as pipeline_id, {keys['stage']} as current_stage, "
        f"{keys['deleted']} as is_deleted from {deal.sql} as d where {keys['live']}"
    )
    struct_columns = "amount_v, close_v, forecast_v" if properties is not None else ""
    moments_select = (
        ", any_value(amount_v) as amount_v, any_value(close_v) as close_v, any_value(forecast_v) as forecast_v"
        if struct_columns
        else ""
    )
    filled_select = (
        ", (last_value(m.amount_v ignore nulls) over w).v as amount"
        ", (last_value(m.close_v ignore nulls) over w).v as close_date"
        ", (last_value(m.forecast_v ignore nulls) over w).v as forecast_category"
        if struct_columns
        else ""
    )
    from_clause = f"""(
        with deals as ({deals}),
        events as ({" union all by name ".join(events)}),
        moments as (
            select deal_id, changed_at, any_value(stage_id) as stage_id, bool_or(is_change) as is_change{moments_select}
            from events where deal_id is not null and changed_at is not null group by deal_id, changed_at
        )
        select m.deal_id, m.changed_at, m.is_change, deals.pipeline_id, deals.is_deleted,
            coalesce(
                last_value(m.stage_id ignore nulls) over w,
                first_value(m.stage_id ignore nulls) over whole,
                deals.current_stage
            ) as stage_id{filled_select}
        from moments as m join deals using (deal_id)
        window w as (partition by m.deal_id order by m.changed_at rows between unbounded preceding and current row),
            whole as (partition by m.deal_id order by m.changed_at rows between unbounded preceding and unbounded following)
    ) as h
    left join temp.{STAGE_TABLE} as s on s.pipeline_id = h.pipeline_id and s.stage_id = h.stage_id
    left join temp.{STAGE_BY_ID_TABLE} as s2 on s2.stage_id = h.stage_id
    where h.is_change"""
    tables = ([stage_events[2]] if stage_events else []) + (
        [properties.label] if properties is not None else []
    )
    label = " + ".join(dict.fromkeys(tables))
    plan = Plan(label=label, from_clause=from_clause, order_by='src."opportunity_id", src."created_date"')
    plan.add(
        "id",
        "h.deal_id || ':' || cast(epoch_ms(h.changed_at) as varchar)",
        f"{label} (deal id and change time)",
    )
    plan.add("opportunity_id", "h.deal_id", f"{label}.deal_id")
    plan.add(
        "stage_name",
        "coalesce(s.stage_name, s2.stage_name)",
        stage_events[1]
        if stage_events
        else f"{deal.label}.{keys['stage_column']} (current stage) {STAGE_MAP_ORIGIN}",
    )
    if properties is not None:
        plan.add("amount", "h.amount", f"{properties.label} (amount)")
        plan.add("close_date", "h.close_date", f"{properties.label} (closedate)")
        plan.add("forecast_category", "h.forecast_category", f"{properties.label} (hs_forecast_category)")
    if lookup.probability_from:
        plan.add("probability", "coalesce(s.probability, s2.probability)", lookup.probability_from)
    plan.add("created_date", "h.changed_at", f"{label} (change time)")
    # only live deals have history rows: a deleted deal's history goes with it
    plan.add("is_deleted", "h.is_deleted", keys["deleted_from"] or f"{deal.label} (no delete flag)")
    return plan
