"""The dbt models as Dagster assets; dbt tests run with them as asset checks.

Sources map onto the ingestion assets' keys (`raw/<object>`), so the asset graph shows
the lineage landing file -> raw table -> staging -> marts. Groups follow the model
folders (staging, intermediate, marts, reference for seeds).

The warehouse dbt builds in is a setting, REVOPS_DBT_TARGET (`duckdb`, the default,
`postgres` or `spark`; profiles.yml reads the same variable). Ingestion always loads into
the DuckDB build file. On PostgreSQL ingestion then copies the raw tables there, the raw
gate validates them there and dbt builds there. On Spark this asset first copies the gated
raw tables there, then `dbt build` runs there. On both the marts stay in the warehouse and
are published there (`orchestration/publishing.py`: a schema swap in PostgreSQL, views
repointed in Spark), never copied back into the build file.
"""

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from orchestration.dbt_check_descriptions import test_description
from orchestration.dbt_project import (
    invocation_target_path,
    keep_partial_parse,
    partial_parse_state,
    prune_invocation_dirs,
    revops_dbt_project,
    seed_partial_parse,
)
from orchestration.quality_gates import RAW_GATE_KEY
from orchestration.resources import WarehouseResource
from revops.landing import latest_load_time
from revops.settings import Settings
from revops.sql import quote_identifier
from revops.warehouse_targets import copy_raw_to_target, dbt_target


class RevOpsDbtTranslator(DagsterDbtTranslator):
    """Keys sources as the ingestion assets do and groups models by folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        """A model that reads a source (staging) waits for the raw gate's verdict."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or {}
        reads = (node.get("depends_on") or {}).get("nodes") or []
        if node.get("resource_type") in ("model", "snapshot") and any(d.startswith("source.") for d in reads):
            return spec.merge_attributes(deps=[RAW_GATE_KEY])
        return spec

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: Any,
    ) -> dg.AssetCheckSpec | None:
        """dagster-dbt's check, with a description (the YAML's, else a sentence)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        test = manifest["nodes"].get(unique_id)
        if spec is None or test is None or spec.description:
            return spec
        return spec._replace(description=test_description(test, asset_spec.key.path[-1]))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        # fqn: [project, folder, ..., model]; the top folder is the layer
        return fqn[1] if len(fqn) > 2 else "dbt"


@contextlib.contextmanager
def dbt_subprocess_environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in this process's environment for the block (the dbt subprocess starts
    inside it), the previous values back afterwards: nothing leaks into later steps."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dbt_vars(settings: Settings) -> list[str]:
    """The vars that tie dbt to the team's settings. They stay the same from one day to the
    next, so dbt's partial parsing holds; the run's day goes in `dbt_environment`."""
    variables = {
        **settings.dbt_vars,  # REVOPS_DBT_VARS: the team's model settings for this run
        "raw_schema": settings.raw_schema,
        "deal_custom_fields": settings.source_config().deal_custom_fields(),
    }
    return ["--vars", json.dumps(variables)]


def dbt_environment(settings: Settings) -> dict[str, str]:
    """What the dbt subprocess reads from its environment: the build file (profiles.yml)
    and the run's as_of_date, always explicit so the Python checks and the models describe
    the same day (macros/as_of_date.sql reads it when dbt executes, not when it parses)."""
    return {
        "REVOPS_WAREHOUSE_PATH": str(settings.warehouse_path.resolve()),
        "REVOPS_AS_OF_DATE": settings.resolved_as_of_date().isoformat(),
    }


@dbt_assets(
    manifest=revops_dbt_project.manifest_path,
    project=revops_dbt_project,
    dagster_dbt_translator=RevOpsDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
)
def revops_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Seeds, models and their tests in dependency order (`dbt build`)."""
    settings = warehouse.settings()
    # profiles.yml reads the warehouse path from the environment, which the dbt subprocess
    # inherits (dagster-dbt's `cli` takes no env of its own): set for this step, then restored
    with dbt_subprocess_environment({**dbt_environment(settings), **test_window_environment(warehouse)}):
        yield from _build(context, dbt, warehouse, settings)


def test_window_environment(warehouse: WarehouseResource) -> dict[str, str]:
    """REVOPS_TEST_WINDOW_START for dbt (macros/changed_rows.sql): on a daily run the latest
    load's time, so the data tests of the incremental models check the rows it loaded (and
    the whole tables on the weekly full-test day); empty, so every table is tested whole,
    on --full-refresh, on the first build (no marts.fct_deal_snapshots in the build file yet;
    on another target the marts never are, so its tests always take whole tables) or without
    a load log."""
    if warehouse.full_refresh:
        return {"REVOPS_TEST_WINDOW_START": ""}
    with warehouse.connect() as con:
        built = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'fct_deal_snapshots'"
        ).fetchone()[0]
        loaded = latest_load_time(con, warehouse.settings().raw_schema) if built else None
    return {"REVOPS_TEST_WINDOW_START": loaded.isoformat(sep=" ") if loaded else ""}


def _build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, settings: Settings
) -> Iterator[Any]:
    target = dbt_target()
    if target == "spark":  # PostgreSQL has its raw tables from ingestion (the gate ran there)
        with warehouse.connect() as con:
            copied = copy_raw_to_target(con, target, settings.raw_schema)
        context.log.info(
            f"copied {len(copied)} raw tables to {target}: "
            + ", ".join(f"{c.table} ({c.row_count:,} rows, {c.seconds:.1f}s)" for c in copied)
        )
    flags = ["--full-refresh"] if warehouse.full_refresh else []
    # unit tests test the models' logic, not today's data: make test runs them (dbt's advice
    # for production builds); REVOPS_DBT_UNIT_TESTS=1 runs them in every build too
    flags += [] if settings.dbt_unit_tests else ["--exclude-resource-type", "unit_test"]
    invocation_dir = invocation_target_path(context.run_id)
    parse_state = partial_parse_state(settings.warehouse_path, target)
    seed_partial_parse(parse_state, invocation_dir)
    # no --store-failures: it doubles what every passing test costs (a table per test and
    # build, dropped again); the failing tests' rows are stored after dbt exits instead
    invocation = dbt.cli(
        ["build", "--target", target, *flags, *dbt_vars(settings)],
        context=context,
        target_path=invocation_dir,
    )
    # The DuckDB file is the dbt process's until it exits, so failed checks are held back,
    # their rows stored and described with examples once dbt is done, then reported
    # (before dbt's own error, if any).
    failed: list[dg.AssetCheckResult] = []
    error: Exception | None = None
    try:
        for event in invocation.stream():
            if isinstance(event, dg.AssetCheckResult) and not event.passed:
                failed.append(event)
                continue
            yield event
    except DagsterDbtCliRuntimeError as exc:
        error = exc
    keep_partial_parse(invocation_dir, parse_state)
    if target == "duckdb":
        with warehouse.connect() as con:
            store_failing_rows(con, invocation.manifest, failed, _compiled_tests(invocation))
            failed = [describe_failed_test(con, invocation.manifest, event) for event in failed]
            drop_passed_test_tables(con, invocation.manifest, failed)
    else:
        failed = [describe_failed_test(None, invocation.manifest, e, target=target) for e in failed]
    for event in failed:
        if event.severity == dg.AssetCheckSeverity.WARN:
            context.log.warning(event.description)
        else:
            context.log.error(event.description)
    yield from failed
    if error is not None:
        raise dg.Failure(
            description=dbt_failure_description(invocation, failed),
            metadata={"stage": "the dbt build (models and tests)"},
        ) from error
    prune_invocation_dirs(invocation.target_path.parent)


def dbt_failure_description(invocation: Any, failed_checks: list) -> str:
    """Why `dbt build` failed, in words: the nodes that errored (a model's SQL, a seed) with
    dbt's message, else the failed tests (reported as failed checks), never dbt's command line."""
    try:
        results = invocation.get_artifact("run_results.json").get("results", [])
    except Exception:  # no run_results.json: dbt died before it wrote one
        results = []
    nodes = invocation.manifest.get("nodes", {})
    errored = []
    for result in results:
        if result.get("status") != "error":
            continue
        node = nodes.get(result.get("unique_id"), {})
        message = " ".join(str(result.get("message") or "no message").split())
        errored.append(
            f"{node.get('resource_type', 'node')} {node.get('name', result.get('unique_id'))} "
            f"({node.get('original_file_path', '?')}): {message[:600]}"
        )
    if errored:
        return (
            f"dbt build stopped: {len(errored)} node{'s' if len(errored) != 1 else ''} failed, the models "
            "after them were skipped: " + "; ".join(errored[:5]) + "."
        )
    if failed_checks:
        return (
            f"{len(failed_checks)} dbt test{'s' if len(failed_checks) != 1 else ''} failed (each one is a failed "
            "check of its model); the models after them were skipped."
        )
    return (
        f"dbt build failed with exit code {invocation.process.returncode} and no failed node in "
        f"run_results.json; dbt's own log: {invocation.target_path / 'dbt.log'}."
    )


MARTS_GROUP = "marts"


def mart_columns() -> dict[str, list[str]]:
    """Each mart's columns in their declared order (the manifest's), by table name: Spark
    stores a partition column last, and the publish puts it back where the model declares it."""
    manifest = json.loads(revops_dbt_project.manifest_path.read_text())
    return {
        node["alias"]: list(node["columns"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["original_file_path"].startswith("../models/marts/")
    }


def mart_asset_keys() -> dict[str, dg.AssetKey]:
    """The dbt models of the marts folder by table name (dagster-dbt keys models by name)."""
    keys = {}
    for spec in revops_dbt_models.specs:
        if spec.group_name == MARTS_GROUP:
            keys[spec.key.path[-1]] = spec.key
    return dict(sorted(keys.items()))


# --------------------------------------------------------------------------- failed dbt tests

FAILURE_EXAMPLE_LIMIT = 5


def _metadata_value(metadata: Mapping[str, Any], key: str) -> Any:
    value = metadata.get(key)
    return getattr(value, "value", getattr(value, "text", value))


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)


def model_key_columns(manifest: Mapping[str, Any], model_id: str) -> list[str]:
    """The model's key: the column of its `unique` test, else the columns of a
    unique-combination test, else its first documented column."""
    combination: list[str] = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or node.get("attached_node") != model_id:
            continue
        meta = node.get("test_metadata") or {}
        if meta.get("name") == "unique" and node.get("column_name"):
            return [node["column_name"]]
        kwargs = meta.get("kwargs") or {}
        columns = kwargs.get("columns") or kwargs.get("combination_of_columns")
        if "unique" in str(meta.get("name")) and isinstance(columns, list) and not combination:
            combination = [str(c) for c in columns]
    if combination:
        return combination
    columns = list((manifest["nodes"].get(model_id) or {}).get("columns") or [])
    return columns[:1]


def failure_examples(con, manifest: Mapping[str, Any], test: Mapping[str, Any]) -> list[dict[str, str]]:
    """Up to five failing rows of a dbt test, from its failures table (`store_failing_rows`), as
    the gate's examples ({value, source}): the tested column's value and the model's key.

    Tests that store whole rows (not_null, expressions) hold the key; tests that store the
    failing values only (unique, relationships, accepted_values) are joined back to the
    model on the tested column to find the keys."""
    failures = f"{quote_identifier(test['schema'])}.{quote_identifier(test['alias'])}"
    model = manifest["nodes"].get(test.get("attached_node") or "") or {}
    column = test.get("column_name") or ((test.get("test_metadata") or {}).get("kwargs") or {}).get(
        "column_name"
    )
    keys = [k for k in model_key_columns(manifest, model["unique_id"]) if k != column] if model else []
    stored = [r[0] for r in con.execute(f"describe select * from {failures}").fetchall()]
    limit = FAILURE_EXAMPLE_LIMIT

    def examples(rows):
        return [
            {
                "value": f"{column}={_render(row[-1])}",
                "source": ", ".join(f"{k}={_render(v)}" for k, v in zip(keys, row[:-1], strict=False)),
            }
            for row in rows
        ]

    if column and column in stored and all(k in stored for k in keys):
        selected = ", ".join(quote_identifier(c) for c in [*keys, column])
        return examples(
            con.execute(f"select {selected} from {failures} order by {selected} limit {limit}").fetchall()
        )
    if column and model and stored:
        relation = f"{quote_identifier(model['schema'])}.{quote_identifier(model['alias'])}"
        selected = ", ".join(f"m.{quote_identifier(c)}" for c in [*keys, column])
        rows = con.execute(
            f"select {selected} from {relation} m "
            f"where m.{quote_identifier(column)} in (select {quote_identifier(stored[0])} from {failures}) "
            # one row per failing value: five different values say more than one five times
            f"qualify row_number() over (partition by m.{quote_identifier(column)} order by {selected}) = 1 "
            f"order by m.{quote_identifier(column)}, {selected} limit {limit}"
        ).fetchall()
        if rows:
            return examples(rows)
    rows = con.execute(f"select * from {failures} limit {limit}").fetchall()
    return [
        {
            "value": ", ".join(f"{c}={_render(v)}" for c, v in list(zip(stored, row, strict=False))[:4]),
            "source": "",
        }
        for row in rows
    ]


def _compiled_tests(invocation: Any) -> dict[str, str]:
    """Each test's compiled query (the rows it fails on), from run_results.json."""
    try:
        results = invocation.get_artifact("run_results.json").get("results", [])
    except Exception:  # no run_results.json: dbt died before it wrote one
        return {}
    return {r["unique_id"]: r["compiled_code"] for r in results if r.get("compiled_code")}


def store_failing_rows(
    con, manifest: Mapping[str, Any], failed: list, compiled: Mapping[str, str]
) -> list[str]:
    """What `dbt --store-failures` would keep, for the failed tests only: each one's failing
    rows in `<test schema>.<test alias>` (dbt_test__audit), where the alert points; the
    tables written."""
    written = []
    for event in failed:
        unique_id = _metadata_value(event.metadata, "unique_id") or ""
        test, query = manifest["nodes"].get(unique_id), compiled.get(unique_id)
        if test is None or not query:
            continue
        table = f"{quote_identifier(test['schema'])}.{quote_identifier(test['alias'])}"
        try:
            con.execute(f"create schema if not exists {quote_identifier(test['schema'])}")
            con.execute(f"create or replace table {table} as {query}")
        except duckdb.Error:  # the message says the rows could not be read; it is not lost
            continue
        written.append(f"{test['schema']}.{test['alias']}")
    return written


def drop_passed_test_tables(con, manifest: Mapping[str, Any], failed: list) -> None:
    """Keep the stored rows of the tests that failed, drop the empty tables of the others
    (one per test and build, all with 0 rows)."""
    keep: set[tuple[str, str]] = set()
    for event in failed:
        test = manifest["nodes"].get(_metadata_value(event.metadata, "unique_id") or "")
        if test is not None:
            keep.add((test["schema"], test["alias"]))
    schemas = {n.get("schema") for n in manifest["nodes"].values() if n["resource_type"] == "test"} - {None}
    for schema in sorted(schemas):
        rows = con.execute(
            "select table_name, table_type from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
        for name, kind in rows:
            if (schema, name) not in keep:
                con.execute(
                    f"drop {'view' if kind == 'VIEW' else 'table'} if exists {quote_identifier(schema)}.{quote_identifier(name)}"
                )


def describe_failed_test(
    con, manifest: Mapping[str, Any], event: dg.AssetCheckResult, *, target: str = "duckdb"
):
    """The failed check with a message naming the model, the column, the failing rows
    and up to five example keys and values (metadata `examples`, as the gate writes)."""
    unique_id = _metadata_value(event.metadata, "unique_id")
    test = manifest["nodes"].get(unique_id or "")
    if test is None:
        return event
    model = manifest["nodes"].get(test.get("attached_node") or "") or {}
    column = test.get("column_name")
    rows = _metadata_value(event.metadata, "dagster_dbt/failed_row_count")
    where = f"{model.get('schema', '?')}.{model.get('name', '?')}" + (f", column {column}" if column else "")
    stored = f"{test['schema']}.{test['alias']}"
    text = f"{where}: dbt test {test['name']} failed"
    if rows not in (None, -1):
        text += f" - {int(rows):,} failing row{'s' if int(rows) != 1 else ''}"
    examples: list[dict[str, str]] = []
    if con is not None:
        try:
            examples = failure_examples(con, manifest, test)
        except Exception as exc:  # the message must not be lost to a failed read
            text += f" (the failing rows could not be read from {stored}: {type(exc).__name__})"
    if examples:
        text += ". Examples: " + ", ".join(
            f"{e['value']} ({e['source']})" if e["source"] else e["value"] for e in examples
        )
    if target == "duckdb":
        text += f". All failing rows: {stored}"
    else:
        text += f". All failing rows: the test's query on the {target} target (dbt compile -s {test['name']})"
    metadata = {
        **event.metadata,
        "table": f"{model.get('schema', '?')}.{model.get('name', '?')}",
        "column": column or "",
        "failures_table": stored if target == "duckdb" else "",
        "examples": dg.MetadataValue.json(examples),
    }
    return dg.AssetCheckResult(
        passed=False,
        asset_key=event.asset_key,
        check_name=event.check_name,
        severity=event.severity,
        metadata=metadata,
        description=text[:4000],
    )
