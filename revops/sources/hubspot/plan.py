"""One object's conform query: contract columns as SQL over HubSpot tables, and their origins."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from revops.sources.hubspot.schema import HubSpotSchema
from revops.sources.hubspot.seeds import ProjectStage, StageMapRow
from revops.sources.mapping import ObjectMapping, SourceMapping
from revops.sql import quote_identifier

# the HubSpot table (or seed) each object is read from when the mapping file does not say
DEFAULT_TABLES: dict[str, str | None] = {
    "opportunity": "deal",
    "opportunity_history": "deal_stage",
    "task": "engagement",
    "event": "engagement_meeting",
    "user": "owner",
    "account": "company",
    "lead": None,  # HubSpot contacts are people, not leads
    "forecasting_quota": "targets",  # seeds/targets.csv
}


@dataclass
class Plan:
    """`select` maps each tracked contract column to SQL over `from_clause`; a column
    missing from it is not tracked (NULL in raw). `mapped_from` says where each came from."""

    label: str  # `_source_file` of the raw rows: `hubspot.deal`
    from_clause: str
    select: dict[str, str] = field(default_factory=dict)
    mapped_from: dict[str, str | None] = field(default_factory=dict)
    order_by: str | None = None  # contract columns, for `_source_row`
    extras: dict[str, str] = field(default_factory=dict)  # pass-through columns, kept as text

    def add(self, column: str, sql: str | None, origin: str | None) -> None:
        if sql is not None:
            self.select[column] = sql
            self.mapped_from[column] = origin

    def query(self) -> str:
        selected = {**self.select, **self.extras}
        columns = ", ".join(f"{sql} as {quote_identifier(column)}" for column, sql in selected.items())
        return f"(select {columns} from {self.from_clause})"

    def extra_expressions(self) -> dict[str, str]:
        return {column: f"src.{quote_identifier(column)}" for column in self.extras}

    def expressions(self) -> dict[str, str]:
        return {column: f"src.{quote_identifier(column)}" for column in self.select}


@dataclass
class Context:
    hs: HubSpotSchema
    mapping: SourceMapping
    seeds_dir: Path
    project_stages: dict[str, ProjectStage]
    stage_map: list[StageMapRow]

    def object(self, name: str) -> ObjectMapping:
        """The mapping file's settings for `name`, else HubSpot's defaults."""
        if name in self.mapping.objects:
            return self.mapping.objects[name]
        return ObjectMapping(name, DEFAULT_TABLES[name])


def coalesce(expressions: list[str]) -> str | None:
    if not expressions:
        return None
    return expressions[0] if len(expressions) == 1 else f"coalesce({', '.join(expressions)})"


FORECAST_CATEGORIES = {  # HubSpot's hs_forecast_category values -> the marts' labels
    "OMIT": "Omitted",
    "PIPELINE": "Pipeline",
    "BEST_CASE": "Best Case",
    "COMMIT": "Commit",
    "CLOSED": "Closed",
}
DEAL_TYPES = {  # HubSpot's dealtype values (spaces, underscores, case ignored) -> the contract's
    "newbusiness": "New Business",
    "existingbusiness": "Expansion",
    "expansion": "Expansion",
    "upsell": "Expansion",
    "renewal": "Renewal",
}


def forecast_label_sql(expression: str) -> str:
    cases = " ".join(f"when '{code}' then '{label}'" for code, label in FORECAST_CATEGORIES.items())
    value = f"cast({expression} as varchar)"
    return f"case upper(trim({value})) {cases} else nullif(trim({value}), '') end"


def deal_type_sql(expression: str) -> str:
    cases = " ".join(f"when '{code}' then '{label}'" for code, label in DEAL_TYPES.items())
    value = f"cast({expression} as varchar)"
    key = f"lower(replace(replace(trim({value}), ' ', ''), '_', ''))"
    return f"case {key} {cases} else nullif(trim({value}), '') end"
