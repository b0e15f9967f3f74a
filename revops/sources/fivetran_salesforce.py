"""A Salesforce schema as Fivetran's connector writes it, conformed to the contract.

Fivetran names tables and columns like the contract (snake_case of the API names:
`opportunity.stage_name`, `next_step_date_c`) but types dates as timestamps, marks deletes
with `is_deleted` and/or `_fivetran_deleted`, and leaves out what the org does not have:
most orgs have none of the contract's three custom fields, many do not sync
OpportunityHistory or ForecastingQuota. Without `opportunity_history`, the History Mode
table `salesforce_history.opportunity` (`_fivetran_start` / `_fivetran_end` /
`_fivetran_active`) supplies the history: a row wherever stage, amount or close date changed.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from revops.crm_contract import CRM_OBJECTS
from revops.crm_ids import is_id_column, normalized_id_sql
from revops.sources.conform import (
    SourceError,
    SourceTable,
    contract_expressions,
    find_table,
    write_contract_table,
)
from revops.sources.coverage import (
    CoverageRow,
    absent_object_coverage,
    object_coverage,
    present_object_columns,
    required_columns,
)
from revops.sources.mapping import SourceMapping
from revops.sql import quote_identifier

SOURCE = "fivetran_salesforce"
DELETE_FLAGS = ("is_deleted", "_fivetran_deleted")
# OpportunityHistory.ForecastCategory holds API values; the marts speak in labels
FORECAST_CATEGORY_LABELS = {"BestCase": "Best Case", "Forecast": "Commit", "MostLikely": "Commit"}


class MissingObjectError(SourceError):
    """A required object is not in the schema."""


def _deleted_expression(table: SourceTable) -> tuple[str, str] | None:
    flags = [f for f in DELETE_FLAGS if f in table.columns]
    if not flags:
        return None
    sql = " or ".join(f"coalesce(try_cast(src.{quote_identifier(f)} as boolean), false)" for f in flags)
    return f"({sql})", " or ".join(f"{table.label}.{f}" for f in flags)


def _forecast_label(expression: str) -> str:
    cases = " ".join(f"when '{api}' then '{label}'" for api, label in FORECAST_CATEGORY_LABELS.items())
    return f"case cast({expression} as varchar) {cases} else cast({expression} as varchar) end"


def _normalized_ids(expressions: dict[str, str | None]) -> dict[str, str | None]:
    """Ids as the landing loader writes them: trimmed, 15-character Salesforce ids in their
    18-character form, 18-character ids in their canonical case (revops.crm_ids)."""
    return {
        column: normalized_id_sql(f"cast({sql} as varchar)")
        if sql is not None and is_id_column(column)
        else sql
        for column, sql in expressions.items()
    }


def _active_rows(table: SourceTable) -> str:
    """The table, or only its current versions when it is a History Mode table."""
    if "_fivetran_active" in table.columns:
        return f"(select * from {table.sql} where coalesce(_fivetran_active, true))"
    return table.sql


def _history_from_history_mode(table: SourceTable) -> str:
    """opportunity_history rows from History Mode versions of opportunity: the first version
    of each deal and every later one whose stage, amount or close date differs."""
    forecast = (
        "forecast_category_name"
        if "forecast_category_name" in table.columns
        else ("forecast_category" if "forecast_category" in table.columns else None)
    )
    forecast_sql = f"src.{quote_identifier(forecast)}" if forecast else "cast(null as varchar)"
    probability = "src.probability" if "probability" in table.columns else "cast(null as double)"
    deleted = _deleted_expression(table)
    return f"""(
        select *
        from (
            select
                cast(src.id as varchar) || ':' || strftime(cast(src._fivetran_start as timestamp), '%Y%m%d%H%M%S') as id,
                cast(src.id as varchar) as opportunity_id,
                src.stage_name,
                src.amount,
                src.close_date,
                {probability} as probability,
                {forecast_sql} as forecast_category,
                src._fivetran_start as created_date,
                {deleted[0] if deleted else "false"} as is_deleted,
                lag(src.stage_name) over w as previous_stage,
                lag(src.amount) over w as previous_amount,
                lag(src.close_date) over w as previous_close_date,
                row_number() over w as version
            from {table.sql} as src
            window w as (partition by src.id order by src._fivetran_start)
        ) as versions
        where version = 1
            or stage_name is distinct from previous_stage
            or amount is distinct from previous_amount
            or close_date is distinct from previous_close_date
    )"""


def conform_fivetran_salesforce(
    con: duckdb.DuckDBPyConnection,
    *,
    catalog: str,
    schema: str,
    history_schema: str | None,
    raw_schema: str,
    mapping: SourceMapping,
    loaded_at: dt.datetime,
) -> list[CoverageRow]:
    """Write every contract object into `<raw_schema>` from Fivetran's `catalog.schema`."""
    coverage: list[CoverageRow] = []
    for obj in CRM_OBJECTS.values():
        object_mapping = mapping.object(obj.name)
        table = (
            find_table(con, catalog, schema, object_mapping.source_name)
            if object_mapping.source_name
            else None
        )
        overrides: dict[str, tuple[str, str]] = {}
        label = f"{schema}.{object_mapping.source_name or obj.name}"
        if table is None and obj.name == "opportunity_history" and history_schema:
            versions = find_table(con, catalog, history_schema, "opportunity")
            if versions is not None and "_fivetran_start" in versions.columns:
                history = SourceTable(
                    label=f"{versions.label} (History Mode)",
                    sql=_history_from_history_mode(versions),
                    columns=dict.fromkeys(obj.columns, ""),
                )
                expressions, mapped_from = contract_expressions(obj, history, object_mapping)
                expressions = _normalized_ids(expressions)
                mapped_from = {
                    c: (f"{versions.label} (History Mode)" if v else None) for c, v in mapped_from.items()
                }
                count = write_contract_table(
                    con,
                    obj,
                    raw_schema,
                    expressions=expressions,
                    from_sql=history.sql,
                    label=history.label,
                    loaded_at=loaded_at,
                    order_by="src.opportunity_id, src.created_date",
                )
                coverage += object_coverage(obj, source=SOURCE, row_count=count, mapped_from=mapped_from)
                continue
        if table is None:
            if required_columns(obj):
                raise MissingObjectError(
                    f"The Fivetran Salesforce schema {schema} has no table "
                    f"{object_mapping.source_name or obj.name}: it is required ({obj.name} with at least "
                    f"{', '.join(required_columns(obj))}). Check REVOPS_SOURCE_SCHEMA and the connector's "
                    f"synced objects."
                )
            write_contract_table(
                con, obj, raw_schema, expressions={}, from_sql=None, label=label, loaded_at=loaded_at
            )
            coverage += absent_object_coverage(obj, source=SOURCE)
            continue
        deleted = _deleted_expression(table)
        if deleted and "is_deleted" in obj.columns:
            overrides["is_deleted"] = deleted
        if obj.name == "opportunity_history" and "forecast_category" in table.columns:
            overrides["forecast_category"] = (
                _forecast_label("src.forecast_category"),
                f"{table.label}.forecast_category",
            )
        expressions, mapped_from = contract_expressions(obj, table, object_mapping, overrides=overrides)
        expressions = _normalized_ids(expressions)
        missing = [c for c in present_object_columns(obj) if expressions.get(c) is None]
        if missing:
            raise MissingObjectError(
                f"{table.label} has no column for {', '.join(missing)}: the minimum {obj.name} needs. "
                f"Map them in {mapping.path} if they have other names."
            )
        order_by = "src.id" if "id" in table.columns else None
        missing_pass_through = [c for c in object_mapping.pass_through if c.lower() not in table.columns]
        if missing_pass_through:
            raise SourceError(
                f"the mapping {mapping.path} passes through {', '.join(missing_pass_through)} of "
                f"{table.label}, which has no such column"
            )
        count = write_contract_table(
            con,
            obj,
            raw_schema,
            expressions=expressions,
            from_sql=_active_rows(table),
            label=table.label,
            loaded_at=loaded_at,
            order_by=order_by,
            extras={c.lower(): f"src.{quote_identifier(c.lower())}" for c in object_mapping.pass_through},
        )
        coverage += object_coverage(obj, source=SOURCE, row_count=count, mapped_from=mapped_from)
    return coverage
