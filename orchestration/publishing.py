"""Publishing: the audited marts go to where BI reads them, then the hygiene digest goes out.

`published_marts` depends on every mart, so it runs only when dbt built them and their
tests passed, and after the blocking mart checks passed. It does not rely on that alone:
before writing anything it reads this run's own record from the Dagster instance and
refuses to publish unless every mart was materialized in this run and no check of the
run failed with ERROR severity; a gate check that did not run in this run (a partial
selection) is run here. The copy itself is `revops.publish.publish_marts` (atomic).
"""

from typing import Any

import dagster as dg
import duckdb

from orchestration.alerts import AlertingResource
from orchestration.dbt_assets import mart_asset_keys
from orchestration.quality_gates import MART_GATE_KEY
from orchestration.resources import ServingResource, WarehouseResource
from orchestration.run_records import run_check_records, run_materialized_keys
from revops.alerting import hygiene_digests, warning_alerts
from revops.publish import PublishError, PublishRequest, publish_marts
from revops.quality import (
    GateReport,
    load_suites,
    raw_baseline,
    table_row_counts,
    validate_marts,
    validate_raw_tables,
)

PUBLISHED_KEY = dg.AssetKey("published_marts")


def _check_key(evaluation) -> tuple[str, str]:
    return ("/".join(evaluation.asset_key.path), evaluation.check_name)


def _gate_check_keys(layer: str, key_of) -> set[tuple[str, str]]:
    keys = set()
    for table, suite in load_suites(layer).items():
        asset = key_of(table)
        if asset is None:
            continue
        for check in suite.checks():
            keys.add(("/".join(asset.path), check.name))
    return keys


def _report_checks(report: GateReport, key_of) -> list[dict[str, Any]]:
    return [
        {
            "asset": "/".join(key_of(o.table).path),
            "check": o.check,
            "passed": o.passed,
            "severity": o.severity,
            "failing_rows": o.failing_rows,
            "message": o.message,
            "table": o.qualified_table,
            "examples": [e.as_dict() for e in o.examples],
        }
        for o in report.outcomes
    ]


def build_publish_asset() -> dg.AssetsDefinition:
    mart_keys = mart_asset_keys()

    @dg.asset(
        key=PUBLISHED_KEY,
        deps=[*mart_keys.values(), MART_GATE_KEY],
        group_name="serving",
        kinds={"duckdb", "parquet"},
        description=(
            "The marts, published atomically to the serving folder (REVOPS_SERVE_DIR): "
            "revops.duckdb (schema marts, publish_log, alerts) and parquet/current/<mart>.parquet. "
            "Runs only when every blocking check of the run passed; then sends the "
            "pipeline-hygiene digest per manager."
        ),
    )
    def published_marts(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        serving: ServingResource,
        alerting: AlertingResource,
    ) -> dg.MaterializeResult:
        settings = warehouse.settings()
        serve_dir = serving.serve_dir_path()
        as_of = settings.resolved_as_of_date()
        run_id = context.run_id

        # 1. the marts must have been built by this run
        built = run_materialized_keys(context.instance, run_id)
        not_built = [name for name, key in mart_keys.items() if key not in built]
        if not_built:
            raise dg.Failure(
                description=(
                    "publishing runs only in a build that materialized the marts in the same run "
                    f"(job revops_build); not built in this run: {', '.join(not_built)}. "
                    "Nothing was published."
                )
            )

        # 2. no check of this run may have failed with ERROR severity (gate checks, dbt tests)
        evaluations = [e for _, e in run_check_records(context.instance, run_id)]
        failed = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
        if failed:
            names = ", ".join(f"{'/'.join(e.asset_key.path)}:{e.check_name}" for e in failed[:20])
            raise dg.Failure(
                description=f"{len(failed)} blocking checks failed in this run ({names}); nothing was published."
            )

        # 3. every gate check must have run in this run; run the missing ones here
        checks = [
            {
                "asset": "/".join(e.asset_key.path),
                "check": e.check_name,
                "passed": e.passed,
                "severity": "blocking" if e.severity == dg.AssetCheckSeverity.ERROR else "warning",
                "message": e.description or "",
            }
            for e in evaluations
        ]
        evaluated = {_check_key(e) for e in evaluations}
        raw_key = lambda t: dg.AssetKey(["raw", t])  # noqa: E731
        mart_key = lambda t: mart_keys.get(t)  # noqa: E731
        inline_reports = []
        if _gate_check_keys("raw", raw_key) - evaluated:
            context.log.info("the raw gate did not run in this run: running it before publishing")
            inline_reports.append(
                (
                    validate_raw_tables(settings, baseline_row_counts=raw_baseline(settings, serve_dir)),
                    raw_key,
                )
            )
        if _gate_check_keys("marts", mart_key) - evaluated:
            context.log.info("the mart gate did not run in this run: running it before publishing")
            inline_reports.append(
                (validate_marts(settings, [t for t in load_suites("marts") if t in mart_keys]), mart_key)
            )
        for report, key_of in inline_reports:
            if report.blocking_failures:
                raise dg.Failure(
                    description="blocking checks failed; nothing was published:\n"
                    + "\n".join(f"- {o.message}" for o in report.blocking_failures)
                )
            checks.extend(_report_checks(report, key_of))

        # 4. what goes into the served file beside the marts: warnings and the digest
        warned = [c for c in checks if not c["passed"]]
        alerts = warning_alerts(warned, run_id=run_id, as_of_date=as_of)
        with duckdb.connect(str(settings.warehouse_path)) as con:
            raw_counts = table_row_counts(con, settings.raw_schema, load_suites("raw"))
            digests = (
                hygiene_digests(con, run_id=run_id, as_of_date=as_of)
                if "pipeline_hygiene_digest" in mart_keys
                else []
            )

        try:
            result = publish_marts(
                settings.warehouse_path,
                serve_dir,
                PublishRequest(
                    run_id=run_id,
                    as_of_date=as_of,
                    marts=list(mart_keys),
                    raw_row_counts=raw_counts,
                    checks=[{k: c[k] for k in ("asset", "check", "passed", "severity")} for c in checks],
                    alerts=[a.as_row() for a in alerts] + [d.as_row() for d, _ in digests],
                    source_key=settings.source_key(),
                    allow_older=serving.allow_older,
                    only_if_newer=serving.only_if_newer,
                ),
                state_path=settings.state_path(),
            )
        except PublishError as error:
            raise dg.Failure(description=str(error)) from None
        if not result.published:
            context.log.info(f"built and gated, not published: {result.detail}")
            return dg.MaterializeResult(
                metadata={
                    "published": False,
                    "as_of_date": as_of.isoformat(),
                    "not_published_because": result.detail,
                }
            )
        if result.detail:
            context.log.warning(result.detail)
        context.log.info(
            f"published {len(result.mart_row_counts)} marts to {result.served_path} "
            f"(publish {result.publish_id}, {result.seconds:.1f} s)"
        )

        # 5. after the publish: the digest per manager
        deliveries = [alerting.send(payload) for _, payload in digests]
        sent = sum(d.delivered for d in deliveries)
        if digests:
            context.log.info(
                f"pipeline-hygiene digest: {len(digests)} managers, {sent} delivered to the webhook"
            )
        for delivery in deliveries:
            if not delivery.delivered:
                context.log.warning(f"digest not delivered: {delivery.detail}")
                break

        return dg.MaterializeResult(
            metadata={
                "published": True,
                "publish_id": result.publish_id,
                "served_file": dg.MetadataValue.path(str(result.served_path)),
                "parquet": dg.MetadataValue.path(str(result.parquet_dir)),
                "as_of_date": as_of.isoformat(),
                "published_at": result.published_at.isoformat() + "Z",
                "mart_row_counts": dg.MetadataValue.json(result.mart_row_counts),
                "checks_passed": sum(1 for c in checks if c["passed"]),
                "checks_warned": len(warned),
                "digests_sent": f"{sent}/{len(digests)}",
                "seconds": round(result.seconds, 2),
            }
        )

    return published_marts


published_marts = build_publish_asset()
