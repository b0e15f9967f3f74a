"""The raw gate as Dagster asset checks: the suites of `expectations/raw/` on the raw tables.

`raw_quality_gate` checks every `raw/<object>` asset once all are loaded (foreign keys
need several tables), before any dbt model runs, where dbt will read them: in the DuckDB
build file, or on the postgres target in PostgreSQL (ingestion copied them there; GX's
SQL datasource for PostgreSQL, the same outcomes): its blocking checks keep the dbt assets,
and so publishing, from running when they fail. The marts' checks are their dbt tests
(dagster-dbt asset checks on `marts/<mart>`, blocking where the test's severity is error).

One asset check per named check of a suite (`meta.check`), blocking when its severity
is `blocking`. The checks are built from the suite files when the definitions load
(small JSON files, no Great Expectations import).
A failed check's description is the whole message: table, check, failing rows, examples.
"""

from collections.abc import Iterable

import dagster as dg

from orchestration.resources import ServingResource, WarehouseResource
from revops.quality import (
    BLOCKING,
    CheckOutcome,
    GateReport,
    Suite,
    load_suites,
    raw_baseline,
    validate_raw_tables,
)
from revops.quality.postgres import PostgresTarget
from revops.warehouse_targets import dbt_target, postgres_dsn_from_env


def raw_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def _specs(suites: Iterable[Suite], key_of) -> list[dg.AssetCheckSpec]:
    specs = []
    for suite in suites:
        for check in suite.checks():
            specs.append(
                dg.AssetCheckSpec(
                    name=check.name,
                    asset=key_of(suite.table),
                    blocking=check.severity == BLOCKING,
                    description=f"[{check.severity}] {check.description} ({suite.path.name})",
                    metadata={
                        "layer": suite.layer,
                        "severity": check.severity,
                        "suite": f"expectations/{suite.layer}/{suite.path.name}",
                    },
                )
            )
    return specs


def outcome_result(outcome: CheckOutcome, key: dg.AssetKey, ran_in: str = "") -> dg.AssetCheckResult:
    metadata: dict = {
        "layer": outcome.layer,  # what the run report and the alert name the stage by
        "table": outcome.qualified_table,
        "severity": outcome.severity,
        "status": outcome.status,  # passed, failed, warned or not_tracked
        "examples": dg.MetadataValue.json([e.as_dict() for e in outcome.examples]),
        "expectations": outcome.expectation_count,
    }
    if ran_in:  # where the table was validated: `PostgreSQL (database revops on ...)`
        metadata["ran_in"] = ran_in
    if outcome.failing_rows is not None:  # unknown (e.g. a check of the whole table): left out
        metadata["failing_rows"] = outcome.failing_rows
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=outcome.check,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.severity == BLOCKING else dg.AssetCheckSeverity.WARN,
        description=outcome.message[:4000],
        metadata=metadata,
    )


def _yield_report(context, report: GateReport, key_of) -> Iterable[dg.AssetCheckResult]:
    """One result per named check. A failed blocking check fails this step by itself
    (Dagster raises after the step's events), holds everything downstream of the checked
    table, and its description is the whole message the UI, the CLI and the alert read:
    no `Failure` on top."""
    for outcome in report.outcomes:
        yield outcome_result(outcome, key_of(outcome.table), report.ran_in)
    context.log.info(report.summary())
    for outcome in report.warnings:
        context.log.warning(outcome.message)
    for outcome in report.blocking_failures:
        context.log.error(outcome.message)


def build_quality_checks() -> list[dg.AssetChecksDefinition]:
    raw_suites = load_suites("raw")

    @dg.multi_asset_check(
        specs=_specs(raw_suites.values(), raw_asset_key),
        name="raw_quality_gate",
        description="The raw tables against expectations/raw/*.json, before any model runs.",
    )
    def raw_quality_gate(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, serving: ServingResource
    ):
        settings = warehouse.settings()
        in_postgres = PostgresTarget(postgres_dsn_from_env()) if dbt_target() == "postgres" else None
        report = validate_raw_tables(
            settings,
            baseline_row_counts=raw_baseline(settings, serving.serve_dir_path()),
            postgres=in_postgres,
        )
        yield from _yield_report(context, report, raw_asset_key)

    return [raw_quality_gate]


quality_checks = build_quality_checks()
