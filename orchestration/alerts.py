"""Alerts from Dagster runs: every failed step of the build raises one.

`alert_on_failure` is a failure hook on the build job: whichever layer stopped the run
(a landing file the loader refused, a blocking raw check, a failing dbt test, publishing
itself), it collects what failed in that step (the stage and table come from the failed
checks' own metadata, else from the step's error and the assets it was to build, never
from the step's name), posts one Slack message to
the webhook (REVOPS_ALERT_WEBHOOK_URL; none set: recorded only) and adds one row per
failed check to the state file beside the working warehouse and, from it, to the served
file's `main.alerts` (see `revops.publish.record_alerts`: the served marts stay those of
the last good publish). In the Dagster UI the same
failure shows as the failed asset check and the failed step, with the message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.run_records import run_check_records, run_planned_keys
from revops.alerting import (
    Delivery,
    GateFailure,
    gate_failure_alerts,
    post_to_webhook,
)
from revops.publish import record_alerts
from revops.publish.postgres import record_alerts_postgres
from revops.settings import Settings
from revops.sql import quote_identifier
from revops.warehouse_targets import dbt_target, postgres_serving


class AlertingResource(dg.ConfigurableResource):
    """Where alerts go: `webhook_url` when set, else the webhook of the run's settings
    (`Settings.alert_webhook_url`, REVOPS_ALERT_WEBHOOK_URL), which the caller passes
    from the warehouse resource: the run's one `Settings`, read when the run started."""

    webhook_url: str = ""
    timeout_seconds: float = 10

    def url(self, settings: Settings) -> str:
        return self.webhook_url or settings.alert_webhook_url

    def send(self, payload: dict[str, Any], settings: Settings) -> Delivery:
        return post_to_webhook(payload, self.url(settings), timeout=self.timeout_seconds)


def _metadata_value(metadata, key: str, default=None):
    value = metadata.get(key)
    if value is None:
        return default
    return getattr(value, "value", value)


def _table_of(evaluation) -> str:
    """The gate's checks say their table; a dbt test is named by its model's asset."""
    table = _metadata_value(evaluation.metadata, "table")
    if table:
        return str(table)
    path = evaluation.asset_key.path
    return ".".join(path) if path[0] == "raw" else path[-1]


RELATIONSHIP_EXAMPLES = 5


def _relationship_test(check_name: str) -> dict | None:
    """The parsed dbt relationships test of that name: its model, column and parent."""
    if not check_name.startswith("relationships_"):
        return None
    from orchestration.dbt_project import revops_dbt_project

    try:
        manifest = json.loads(Path(revops_dbt_project.manifest_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    nodes = manifest.get("nodes", {})
    for node in nodes.values():
        if node.get("resource_type") != "test" or node.get("name") != check_name:
            continue
        kwargs = (node.get("test_metadata") or {}).get("kwargs") or {}
        child = nodes.get(node.get("attached_node") or "")
        parents = [nodes.get(n) for n in node["depends_on"]["nodes"] if n != node.get("attached_node")]
        if child is None or not parents or parents[0] is None:
            return None
        return {
            "model": child["alias"],
            "schema": child["schema"],
            "column": kwargs.get("column_name"),
            "parent": parents[0]["alias"],
            "parent_schema": parents[0]["schema"],
            "field": kwargs.get("field"),
        }
    return None


def relationship_failure(check_name: str, warehouse_path: Path | None) -> tuple[str, tuple[dict, ...]] | None:
    """A failing dbt relationships test in words, with up to five of the values that do
    not resolve, read from the DuckDB working warehouse (None: not such a test, or the
    values cannot be read there, e.g. dbt built on another engine)."""
    test = _relationship_test(check_name)
    if test is None or not test["column"] or not test["field"]:
        return None
    where = f"{test['model']}.{test['column']}"
    headline = f"{where}: values not found in {test['parent']}.{test['field']} (dbt test {check_name})"
    if warehouse_path is None or dbt_target() != "duckdb":
        return headline, ()
    import duckdb

    column, field = quote_identifier(test["column"]), quote_identifier(test["field"])
    sql = (
        f"select distinct cast(c.{column} as varchar) from {quote_identifier(test['schema'])}.{quote_identifier(test['model'])} c "
        f"where c.{column} is not null and c.{column} not in (select p.{field} from "
        f"{quote_identifier(test['parent_schema'])}.{quote_identifier(test['parent'])} p where p.{field} is not null) "
        f"order by 1 limit {RELATIONSHIP_EXAMPLES}"
    )
    try:
        with duckdb.connect(str(warehouse_path), read_only=True) as con:
            values = [row[0] for row in con.execute(sql).fetchall()]
    except duckdb.Error:
        return headline, ()
    examples = tuple({"value": value, "source": where} for value in values)
    shown = ", ".join(f"'{v}'" for v in values)
    hint = (
        " An incremental model keeping rows its parent dropped is rebuilt by `revops run --full-refresh`."
        if test["model"] == "fct_deal_snapshots"
        else ""
    )
    return f"{headline}: {shown}.{hint}", examples


def failure_of_evaluation(evaluation, warehouse_path: Path | None = None) -> GateFailure:
    metadata = evaluation.metadata
    rows = _metadata_value(metadata, "failing_rows")
    if rows is None:  # dagster-dbt: the failing rows of a dbt test
        rows = _metadata_value(metadata, "dagster_dbt/failed_row_count")
    examples = _metadata_value(metadata, "examples", []) or []
    if isinstance(examples, str):
        examples = json.loads(examples)
    message = evaluation.description or (
        f"{_table_of(evaluation)}: check {evaluation.check_name} failed"
        + (f" - {int(rows):,} failing rows" if rows not in (None, -1) else "")
    )
    relationship = relationship_failure(evaluation.check_name, warehouse_path)
    if relationship is not None:
        text, found = relationship
        message = f"{message.rstrip('.')}. {text}"
        examples = list(found) or examples
    return GateFailure(
        table_name=_table_of(evaluation),
        check_name=evaluation.check_name,
        message=message,
        failing_row_count=int(rows) if rows not in (None, -1) else None,
        examples=tuple(examples),
        severity="blocking",
    )


LAYER_STAGES = {
    "raw": "the raw data quality gate",
    "dbt": "the dbt build (models and tests)",
}


def check_layer(evaluation) -> str:
    """The layer a check belongs to, from its own metadata: the raw gate's checks carry
    `layer`; a dbt test carries its test node's `unique_id` (dagster-dbt)."""
    layer = _metadata_value(evaluation.metadata or {}, "layer")
    if layer:
        return str(layer)
    if str(_metadata_value(evaluation.metadata or {}, "unique_id", "")).startswith("test."):
        return "dbt"
    return "unknown"


def stage_of(failed_evaluations: list, exception: BaseException | None = None, planned=frozenset()) -> str:
    """Which stage stopped the run: the layer of its failed checks (their metadata), else
    the stage the step's error names (`stage` in a Failure's metadata, the loader's
    `object`), else what the step was to materialize (`planned`: its asset keys)."""
    layers = sorted({check_layer(e) for e in failed_evaluations})
    if layers:
        return " and ".join(LAYER_STAGES.get(layer, f"the {layer} checks") for layer in layers)
    metadata = _failure_metadata(exception)
    if metadata.get("stage"):
        return str(metadata["stage"])
    if metadata.get("object") or metadata.get("file"):
        return f"loading the CRM source ({metadata.get('object') or metadata.get('file')})"
    from orchestration.publishing import PUBLISHED_KEY
    from orchestration.quality_gates import MART_GATE_KEY, RAW_GATE_KEY

    if PUBLISHED_KEY in planned:
        return "publishing"
    if planned & {RAW_GATE_KEY, MART_GATE_KEY}:
        return " and ".join(k.to_user_string().replace("_", " ") for k in sorted(planned, key=str))
    if any(key.path[0] in ("raw", "landing") for key in planned):
        return "loading the CRM source"
    if planned:
        return LAYER_STAGES["dbt"]  # every other asset of the build is a dbt node
    return "an unknown step (see the Dagster UI)"


def _exception_text(exception: BaseException | None) -> str:
    if exception is None:
        return "the step failed"
    description = getattr(exception, "description", None)
    return str(description or exception).strip() or type(exception).__name__


def _failure_metadata(exception: BaseException | None) -> dict[str, Any]:
    metadata = getattr(exception, "metadata", None) or {}
    return {k: getattr(v, "value", v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}


def _loader_examples(metadata: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The loader's examples ({column, line, value}) as alert examples ({value, source})."""
    file = str(metadata.get("file") or "")
    name = file.rsplit("/", 1)[-1]
    examples = metadata.get("examples") or []
    if isinstance(examples, str):
        examples = json.loads(examples)
    return tuple(
        {
            "value": e.get("value"),
            "source": f"{name} line {e.get('line')}" + (f", column {e['column']}" if e.get("column") else ""),
        }
        for e in examples[:5]
        if isinstance(e, dict)
    )


def failed_checks(instance, run_id: str, step_key: str | None) -> list:
    """The step's failed ERROR-severity check evaluations, from the run's record."""
    return [
        evaluation
        for key, evaluation in run_check_records(instance, run_id)
        if key == step_key and not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    ]


def step_failures(
    instance,
    run_id: str,
    step_key: str | None,
    exception: BaseException | None,
    warehouse_path: Path | None = None,
) -> list[GateFailure]:
    """What failed in one step: its failed ERROR checks, else the step's own error (for
    the loader: its file, columns, bad row count and examples from the failure metadata)."""
    failures = [
        failure_of_evaluation(evaluation, warehouse_path)
        for evaluation in failed_checks(instance, run_id, step_key)
    ]
    if failures:
        return failures
    metadata = _failure_metadata(exception)
    loading = stage_of([], exception, run_planned_keys(instance, run_id, step_key)).startswith("loading")
    rows = metadata.get("bad_row_count")
    table = f"raw.{metadata['object']}" if metadata.get("object") else metadata.get("table")
    return [
        GateFailure(
            table_name=table,
            check_name="landing_file_loads" if loading else (step_key or "build"),
            message=_exception_text(exception),
            failing_row_count=int(rows) if isinstance(rows, (int, float)) else None,
            examples=_loader_examples(metadata) if loading else (),
        )
    ]


@dg.failure_hook(required_resource_keys={"warehouse", "serving", "alerting"})
def alert_on_failure(context: dg.HookContext) -> None:
    """Alert on a failed step: Slack webhook, a row per failure in `main.alerts`, the log."""
    try:
        settings = context.resources.warehouse.settings()
        failures = step_failures(
            context.instance, context.run_id, context.step_key, context.op_exception, settings.warehouse_path
        )
        alerts, payload = gate_failure_alerts(
            failures,
            run_id=context.run_id,
            as_of_date=settings.resolved_as_of_date(),
            stage=stage_of(
                failed_checks(context.instance, context.run_id, context.step_key),
                context.op_exception,
                run_planned_keys(context.instance, context.run_id, context.step_key),
            ),
        )
        delivery = context.resources.alerting.send(payload, settings)
        rows = [a.as_row() for a in alerts]
        recorded = record_alerts(
            context.resources.serving.serve_dir_path(), rows, state_path=settings.state_path()
        )
        if dbt_target() == "postgres":  # where this target's BI reads the alerts
            record_alerts_postgres(postgres_serving(settings), rows)
        context.log.error(
            f"alert raised for {len(failures)} failure(s) in {context.step_key}: webhook {delivery.detail}; "
            f"recorded in {recorded.where()}"
        )
    except Exception as error:  # an alert that cannot be sent must not hide the failure
        context.log.error(f"the failure alert could not be raised: {type(error).__name__}: {error}")
