"""The quality gate as Dagster asset checks: the suites of `expectations/` on raw tables and marts.

- `raw_quality_gate` checks every `raw/<object>` asset once all are loaded (foreign keys
  need several tables), before any dbt model runs: its blocking checks keep the dbt
  assets, and so publishing, from running when they fail.
- `mart_quality_gate` checks the marts dbt built; its blocking checks keep
  `published_marts` from running.

One asset check per named check of a suite (`meta.check`), blocking when its severity
is `blocking`. The checks are built from the suite files when the definitions load
(small JSON files, no Great Expectations import): adding a mart's suite adds its checks.
A failed check's description is the whole message: table, check, failing rows, examples.
"""

from collections.abc import Iterable

import dagster as dg

from orchestration.dbt_assets import mart_asset_keys
from orchestration.resources import ServingResource, WarehouseResource
from revops.quality import (
    BLOCKING,
    CheckOutcome,
    GateReport,
    Suite,
    load_suites,
    raw_baseline,
    validate_marts,
    validate_raw_tables,
)


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
                        "severity": check.severity,
                        "suite": f"expectations/{suite.layer}/{suite.path.name}",
                    },
                )
            )
    return specs


def outcome_result(outcome: CheckOutcome, key: dg.AssetKey) -> dg.AssetCheckResult:
    metadata: dict = {
        "table": outcome.qualified_table,
        "severity": outcome.severity,
        "status": outcome.status,  # passed, failed, warned or not_tracked
        "examples": dg.MetadataValue.json([e.as_dict() for e in outcome.examples]),
        "expectations": outcome.expectation_count,
    }
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
    for outcome in report.outcomes:
        yield outcome_result(outcome, key_of(outcome.table))
    context.log.info(report.summary())
    for outcome in report.warnings:
        context.log.warning(outcome.message)
    if report.blocking_failures:
        messages = [o.message for o in report.blocking_failures]
        # Raising (rather than leaving it to Dagster's blocking checks) puts the whole
        # message on the failed step, where the UI, the CLI and the alert hook read it.
        raise dg.Failure(
            description=(
                f"{len(messages)} blocking {report.layer} check{'s' if len(messages) != 1 else ''} failed; "
                "nothing downstream runs and nothing is published:\n" + "\n".join(f"- {m}" for m in messages)
            ),
            metadata={
                "failed_checks": dg.MetadataValue.json([o.as_dict() for o in report.blocking_failures])
            },
        )


def build_quality_checks() -> list[dg.AssetChecksDefinition]:
    raw_suites = load_suites("raw")
    mart_keys = mart_asset_keys()
    mart_suites = {t: s for t, s in load_suites("marts").items() if t in mart_keys}

    @dg.multi_asset_check(
        specs=_specs(raw_suites.values(), raw_asset_key),
        name="raw_quality_gate",
        description="The raw tables against expectations/raw/*.json, before any model runs.",
    )
    def raw_quality_gate(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, serving: ServingResource
    ):
        settings = warehouse.settings()
        report = validate_raw_tables(
            settings, baseline_row_counts=raw_baseline(settings, serving.serve_dir_path())
        )
        yield from _yield_report(context, report, raw_asset_key)

    checks = [raw_quality_gate]
    if mart_suites:

        @dg.multi_asset_check(
            specs=_specs(mart_suites.values(), lambda t: mart_keys[t]),
            name="mart_quality_gate",
            description="The marts against expectations/marts/*.json, before publishing.",
        )
        def mart_quality_gate(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
            missing = sorted(set(mart_keys) - set(mart_suites))
            if missing:
                context.log.warning(f"marts without an expectation suite: {', '.join(missing)}")
            report = validate_marts(warehouse.settings(), list(mart_suites))
            yield from _yield_report(context, report, lambda t: mart_keys[t])

        checks.append(mart_quality_gate)
    return checks


quality_checks = build_quality_checks()
