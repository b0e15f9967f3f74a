"""The metric layer's numbers in Python: MetricFlow queries on a DuckDB file, read-only.

The metrics are defined once, in dbt's semantic models (models/semantic/); `mf query`
answers them for anyone with the dbt project. `mf` reaches the warehouse through
dbt-duckdb, which opens the DuckDB file read-write (and so takes its lock): it cannot
read the served file BI holds open read-only, nor the working warehouse while a build
writes it (DECISIONS.md). So here MetricFlow only compiles the query, from the semantic
manifest dbt writes at parse (`dbt_project/target/semantic_manifest.json`), and DuckDB
runs the SQL on the file opened read-only - the served `revops.duckdb`, whose `marts`
schema has the same tables under the same names, or the working warehouse.

Values in, values out: no environment reads, no Dagster. The dashboard's headline
numbers are `headline_metrics(served_file, SEMANTIC_MANIFEST_PATH)`.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from revops.paths import DBT_PROJECT_DIR
from revops.sql import quote_identifier, quote_literal

# Where `dbt parse` (`make prepare`, python -m orchestration.dbt_project) writes the metrics
SEMANTIC_MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "semantic_manifest.json"

# The saved queries of models/semantic/_semantic__saved_queries.yml behind the dashboard's
# headline cards.
HEADLINE_QUERIES = (
    "pipeline_headlines",
    "performance_headlines",
    "open_pipeline_headlines",
    "health_headlines",
)


class MetricQueryError(Exception):
    """A metric query that cannot run: a missing manifest or file, an unknown metric."""


@dataclass(frozen=True)
class MetricTable:
    """One query's answer: column names (metric names and group-bys, as `mf query`
    prints them, e.g. metric_time__quarter) and rows, plus the SQL that produced it."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    sql: str

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def value(self, metric: str, **group_by: Any) -> Any:
        """The metric on the one row whose group-by columns equal `group_by` (None when
        no row matches: the metric is unknown there)."""
        matches = [
            record
            for record in self.records()
            if all(record.get(column) == wanted for column, wanted in group_by.items())
        ]
        if len(matches) > 1:
            raise MetricQueryError(f"{len(matches)} rows match {group_by} for {metric}; group by less")
        return matches[0][metric] if matches else None


def compile_metric_query(
    semantic_manifest_path: Path,
    *,
    saved_query: str | None = None,
    metrics: Sequence[str] = (),
    group_by: Sequence[str] = (),
    where: Sequence[str] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """The DuckDB SQL MetricFlow writes for a query (`mf query --explain` without dbt or a
    warehouse connection). Either a saved query or metrics (with group-bys and filters)."""
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    if not saved_query and not metrics:
        raise MetricQueryError("a metric query needs a saved query or at least one metric")
    engine = _engine(*_manifest_key(semantic_manifest_path))
    request = MetricFlowQueryRequest.create(
        saved_query_name=saved_query,
        metric_names=list(metrics) or None,
        group_by_names=list(group_by) or None,
        where_constraints=list(where) or None,
        order_by_names=list(order_by) or None,
        limit=limit,
    )
    try:
        return engine.explain(request).sql_statement.sql
    except Exception as exc:  # MetricFlow's errors name the unknown metric or dimension
        raise MetricQueryError(f"MetricFlow cannot compile the query: {exc}") from exc


def query_metrics(
    database_path: Path,
    semantic_manifest_path: Path,
    *,
    saved_query: str | None = None,
    metrics: Sequence[str] = (),
    group_by: Sequence[str] = (),
    where: Sequence[str] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> MetricTable:
    """Run a metric query on `database_path` (a DuckDB file with the `marts` schema),
    opened read-only under the database name the semantic manifest's SQL refers to."""
    sql = compile_metric_query(
        semantic_manifest_path,
        saved_query=saved_query,
        metrics=metrics,
        group_by=group_by,
        where=where,
        order_by=order_by,
        limit=limit,
    )
    if not database_path.is_file():
        raise MetricQueryError(f"no DuckDB file at {database_path}: build and publish first (`make run`)")
    database_name = metric_database_name(semantic_manifest_path)
    with duckdb.connect(":memory:") as con:
        con.execute(
            f"attach {quote_literal(str(database_path))} as {quote_identifier(database_name)} (read_only)"
        )
        cursor = con.execute(sql)
        columns = tuple(column[0] for column in cursor.description or ())
        rows = tuple(tuple(row) for row in cursor.fetchall())
    return MetricTable(columns=columns, rows=rows, sql=sql)


def headline_metrics(database_path: Path, semantic_manifest_path: Path) -> dict[str, MetricTable]:
    """The dashboard's headline numbers: each saved query of HEADLINE_QUERIES, answered."""
    return {
        name: query_metrics(database_path, semantic_manifest_path, saved_query=name)
        for name in HEADLINE_QUERIES
    }


def _manifest_key(path: Path) -> tuple[str, float]:
    if not path.is_file():
        raise MetricQueryError(
            f"no semantic manifest at {path}: `dbt parse` writes it (python -m orchestration.dbt_project)"
        )
    return str(path.resolve()), path.stat().st_mtime


@functools.lru_cache(maxsize=4)
def _engine(path: str, mtime: float) -> Any:
    """MetricFlow's engine for one version of the semantic manifest (built once: ~1 s)."""
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    del mtime  # part of the cache key only: a new parse gives a new engine
    # MetricFlow logs every query plan at INFO on the root logger's handlers
    logging.getLogger("metricflow").setLevel(logging.WARNING)
    logging.getLogger("metricflow_semantics").setLevel(logging.WARNING)
    manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=Path(path).read_text())
    return MetricFlowEngine(
        semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=_CompileOnlyDuckDbClient()
    )


def metric_database_name(semantic_manifest_path: Path) -> str:
    """The one database the semantic models' relations are in (the working warehouse's
    file name at parse time, e.g. `build`)."""
    manifest = json.loads(semantic_manifest_path.read_text())
    names = {model["node_relation"]["database"] for model in manifest.get("semantic_models", [])}
    if len(names) != 1:
        raise MetricQueryError(
            f"{semantic_manifest_path}: the semantic models should be in one database, found {sorted(names)}"
        )
    return names.pop()


class _CompileOnlyDuckDbClient:
    """What MetricFlow's engine needs to write DuckDB SQL; the SQL runs elsewhere (read-only)."""

    @property
    def sql_engine_type(self) -> Any:
        from metricflow.protocols.sql_client import SqlEngine

        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> Any:
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        return DuckDbSqlPlanRenderer()

    def query(self, stmt: str, sql_bind_parameter_set: Any = None) -> Any:
        raise NotImplementedError("compile only: query_metrics runs the SQL")

    def execute(self, stmt: str, sql_bind_parameter_set: Any = None) -> None:
        raise NotImplementedError("compile only: query_metrics runs the SQL")

    def dry_run(self, stmt: str, sql_bind_parameter_set: Any = None) -> None:
        raise NotImplementedError("compile only: query_metrics runs the SQL")

    def close(self) -> None:
        return None

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"
