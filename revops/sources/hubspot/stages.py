"""HubSpot pipeline stages as the project's stages: the lookup tables the deal queries join.

A HubSpot stage is (pipeline id, stage id); its labels come from `deal_pipeline` and
`deal_pipeline_stage`. Each is resolved through `hubspot_stage_map.csv` (a row naming the
pipeline by id or label and the stage by id or label; ids win over labels), else by its
label when that is a project stage name. is_closed / is_won / probability come from
`deal_pipeline_stage` (`is_closed`, `closed_won`, else probability 1 = won), else from the
project's stage map; HubSpot's probability (0-1) becomes the contract's percentage.

Two temp tables result: `_hubspot_stage` keyed by (pipeline_id, stage_id) and
`_hubspot_stage_by_id` for stage ids alone (history rows carry no pipeline), holding only
ids that resolve the same way in every pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from revops.sources.conform import SourceError, SourceTable
from revops.sources.hubspot.schema import HubSpotSchema, id_sql, not_deleted_sql
from revops.sources.hubspot.seeds import STAGE_MAP_FILE, ProjectStage, StageMapRow
from revops.sql import quote_identifier

STAGE_TABLE = "_hubspot_stage"
STAGE_BY_ID_TABLE = "_hubspot_stage_by_id"
MAX_EXAMPLES = 5


@dataclass
class HubSpotStage:
    pipeline_id: str | None
    stage_id: str
    pipeline_label: str | None = None
    stage_label: str | None = None
    is_closed: bool | None = None
    is_won: bool | None = None
    probability: float | None = None  # 0-1, as HubSpot stores it
    deals: int = 0  # live deals in it now
    history_rows: int = 0  # history rows of live deals naming it


@dataclass(frozen=True)
class StageLookup:
    flags_from: str  # where is_closed / is_won came from, for coverage
    probability_from: str | None


def _stages_from_schema(hs: HubSpotSchema) -> dict[tuple[str | None, str], HubSpotStage]:
    stages: dict[tuple[str | None, str], HubSpotStage] = {}
    table = hs.table("deal_pipeline_stage")
    if table is None or "stage_id" not in table.columns:
        return stages
    pipelines = hs.table("deal_pipeline")
    pipeline_label = "cast(null as varchar)"
    join = ""
    if pipelines is not None and {"pipeline_id", "label"} <= set(pipelines.columns):
        join = f"left join {pipelines.sql} as p on cast(p.pipeline_id as varchar) = cast(s.pipeline_id as varchar)"
        pipeline_label = "cast(p.label as varchar)"

    def col(name: str, cast: str) -> str:
        return (
            f"try_cast(s.{quote_identifier(name)} as {cast})"
            if name in table.columns
            else f"cast(null as {cast})"
        )

    pipeline_id = (
        id_sql(table, "s", "pipeline_id") if "pipeline_id" in table.columns else "cast(null as varchar)"
    )
    rows = hs.con.execute(
        f"""
        select {pipeline_id}, {id_sql(table, "s", "stage_id")}, {pipeline_label}, {col("label", "varchar")},
               {col("is_closed", "boolean")}, {col("closed_won", "boolean")}, {col("probability", "double")}
        from {table.sql} as s {join}
        order by case when {not_deleted_sql(table, "s")} then 0 else 1 end
        """
    ).fetchall()
    for pipeline, stage, p_label, s_label, closed, won, probability in rows:
        stages.setdefault(
            (pipeline, stage), HubSpotStage(pipeline, stage, p_label, s_label, closed, won, probability)
        )
    return stages


def _count_usage(
    hs: HubSpotSchema,
    stages: dict[tuple[str | None, str], HubSpotStage],
    deal: SourceTable,
    deal_sql: Mapping[str, str | None],
    history_sql: str | None,
) -> None:
    """Count live deals per (pipeline, stage) now and history rows per stage id (stages of
    deleted deals are resolved when they can be, but need not be)."""
    if deal_sql.get("stage"):
        for pipeline, stage, count in hs.con.execute(
            f"select {deal_sql['pipeline']}, {deal_sql['stage']}, count(*) filter (where {deal_sql['live']}) "
            f"from {deal.sql} as d where {deal_sql['stage']} is not null group by all"
        ).fetchall():
            stages.setdefault((pipeline, stage), HubSpotStage(pipeline, stage)).deals += count
    if history_sql:
        known = {s.stage_id for s in stages.values()}
        for stage, count in hs.con.execute(
            f"select stage_id, count(*) from ({history_sql}) where stage_id is not null group by all"
        ).fetchall():
            matches = [s for s in stages.values() if s.stage_id == stage]
            if not matches and stage not in known:
                stages[(None, stage)] = HubSpotStage(None, stage)
                matches = [stages[(None, stage)]]
            for match in matches:
                match.history_rows += count


def _seed_match(stage: HubSpotStage, rows: list[StageMapRow]) -> str | None:
    """The project stage a seed row gives this stage: best rank only, ids before labels."""
    best: tuple[int, set[str]] = (99, set())
    for row in rows:
        pipe, stg = row.pipeline.lower(), row.stage.lower()
        pipeline_rank = (
            0
            if stage.pipeline_id and pipe == stage.pipeline_id.lower()
            else 1
            if stage.pipeline_label and pipe == stage.pipeline_label.lower()
            else 0
            if stage.pipeline_id is None  # a history stage id: match on the stage alone
            else None
        )
        stage_rank = (
            0
            if stg == stage.stage_id.lower()
            else 1
            if stage.stage_label and stg == stage.stage_label.lower()
            else None
        )
        if pipeline_rank is None or stage_rank is None:
            continue
        rank = pipeline_rank + stage_rank
        if rank < best[0]:
            best = (rank, {row.stage_name})
        elif rank == best[0]:
            best[1].add(row.stage_name)
    if len(best[1]) > 1:
        raise SourceError(
            f"{STAGE_MAP_FILE} maps HubSpot stage {_describe(stage)} to several stages "
            f"({', '.join(sorted(best[1]))}); name the pipeline and stage by id to tell them apart"
        )
    return next(iter(best[1]), None)


def _describe(stage: HubSpotStage) -> str:
    pipeline = (
        f"pipeline {stage.pipeline_label!r} ({stage.pipeline_id})"
        if stage.pipeline_label
        else f"pipeline {stage.pipeline_id}"
        if stage.pipeline_id
        else "pipeline unknown"
    )
    label = f"{stage.stage_label!r} ({stage.stage_id})" if stage.stage_label else repr(stage.stage_id)
    return f"{label} of {pipeline}"


def build_stage_lookup(
    hs: HubSpotSchema,
    deal: SourceTable,
    deal_sql: Mapping[str, str | None],
    history_sql: str | None,
    seed_rows: list[StageMapRow],
    project: dict[str, ProjectStage],
) -> StageLookup:
    """Resolve every HubSpot stage in use and write the two temp lookup tables.

    `deal_sql`: SQL over `deal as d` for `pipeline`, `stage` and `live` (not deleted);
    `history_sql`: a query of `stage_id` per history row of a live deal, or None."""
    stages = _stages_from_schema(hs)
    _count_usage(hs, stages, deal, deal_sql, history_sql)
    resolved, unresolved, conflicts = [], [], []
    used_hubspot_flags = used_project_flags = used_probability = False
    for stage in stages.values():
        name = _seed_match(stage, seed_rows)
        if name is None:
            by_label = project.get((stage.stage_label or stage.stage_id).lower())
            name = by_label.name if by_label else None
        if name is None:
            if stage.deals or stage.history_rows:
                unresolved.append(stage)
            continue
        target = project[name.lower()]
        if stage.is_closed is None:
            closed, won = target.is_closed, target.is_won
            used_project_flags = True
        else:
            closed = stage.is_closed
            won = (
                stage.is_won
                if stage.is_won is not None
                else (closed and stage.probability is not None and stage.probability >= 1)
            )
            used_hubspot_flags = True
            if (closed, won) != (target.is_closed, target.is_won) and (stage.deals or stage.history_rows):
                conflicts.append(
                    f"{_describe(stage)} is {'closed' if closed else 'open'}"
                    f"{' won' if won else ' lost' if closed else ''} in HubSpot but is mapped to "
                    f"{target.name!r}, which is {'closed' if target.is_closed else 'open'}"
                    f"{' won' if target.is_won else ' lost' if target.is_closed else ''}"
                )
        used_probability |= stage.probability is not None
        probability = None if stage.probability is None else stage.probability * 100.0
        resolved.append((stage.pipeline_id, stage.stage_id, name, closed, won, probability))
    if unresolved:
        shown = "; ".join(
            f"{_describe(s)}: {s.deals} deals now, {s.history_rows} history rows"
            for s in sorted(unresolved, key=lambda s: -(s.deals + s.history_rows))[:MAX_EXAMPLES]
        )
        raise SourceError(
            f"{len(unresolved)} HubSpot deal stages are not in {STAGE_MAP_FILE} and their labels are "
            f"not stage names of stage_map.csv: {shown}. Add a row (pipeline, stage, stage_name) for each."
        )
    if conflicts:
        raise SourceError(f"{STAGE_MAP_FILE} disagrees with HubSpot: " + "; ".join(conflicts[:MAX_EXAMPLES]))
    _write_lookup(hs.con, resolved)
    flags_from = (
        " / ".join(
            label
            for used, label in (
                (used_hubspot_flags, "hubspot.deal_pipeline_stage.is_closed, closed_won"),
                (used_project_flags, "seeds/stage_map.csv (is_closed, is_won of the mapped stage)"),
            )
            if used
        )
        or "seeds/stage_map.csv"
    )
    return StageLookup(
        flags_from=flags_from,
        probability_from="hubspot.deal_pipeline_stage.probability" if used_probability else None,
    )


def _write_lookup(con: duckdb.DuckDBPyConnection, resolved: list[tuple]) -> None:
    columns = "pipeline_id varchar, stage_id varchar, stage_name varchar, is_closed boolean, is_won boolean, probability double"
    con.execute(f"create or replace temp table {STAGE_TABLE} ({columns})")
    if resolved:
        con.executemany(f"insert into {STAGE_TABLE} values (?, ?, ?, ?, ?, ?)", resolved)
    con.execute(
        f"""
        create or replace temp table {STAGE_BY_ID_TABLE} as
        select stage_id, any_value(stage_name) as stage_name, any_value(is_closed) as is_closed,
               any_value(is_won) as is_won, any_value(probability) as probability
        from {STAGE_TABLE}
        group by stage_id
        having count(distinct (stage_name, is_closed, is_won, coalesce(probability, -1))) = 1
        """
    )


def drop_lookup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop table if exists temp.{STAGE_TABLE}")
    con.execute(f"drop table if exists temp.{STAGE_BY_ID_TABLE}")
