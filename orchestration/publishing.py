"""Publishing: the audited marts go to where BI reads them, then the hygiene digest goes out.

`published_marts` depends on every mart and on the mart gate (`quality_gates.py`), which
runs only once the marts' blocking checks (their dbt tests) passed and the raw gate before
them: the graph is the gate. Publishing re-checks nothing; its one precondition is that
this run materialized both gates' verdicts, so a run that selected publishing without its
gates is refused in one sentence instead of validating anything here. The copy itself is
`revops.publish.publish_marts` (atomic); this run's warnings go into the served file's
alerts.

Where the publish happens follows the run's dbt target: on `postgres` the marts are
published in PostgreSQL itself (`revops.publish.postgres`: a schema swap in one
transaction, the publish log and alerts beside them), on `spark` in the Spark metastore
(`revops.publish.spark`: a database per publish, the served database's views repointed
to it), never pulled back into DuckDB; on `duckdb` the DuckDB file and Parquet of the
serving folder.
"""

import datetime as dt
import tempfile
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.alerts import AlertingResource
from orchestration.dbt_assets import mart_asset_keys, mart_columns
from orchestration.quality_gates import MART_GATE_KEY, RAW_GATE_KEY
from orchestration.resources import ServingResource, WarehouseResource
from orchestration.run_records import run_check_records, run_materialized_keys
from revops.alerting import hygiene_digests, warning_alerts
from revops.publish import PublishError, PublishRequest, PublishResult, publish_marts
from revops.publish.postgres import publish_marts_postgres
from revops.publish.postgres_served import marts_into_duckdb
from revops.publish.spark import publish_marts_spark
from revops.quality import load_suites, table_row_counts
from revops.settings import Settings
from revops.sql import quote_literal
from revops.warehouse_targets import dbt_target, postgres_serving, spark_serving

PUBLISHED_KEY = dg.AssetKey("published_marts")


def build_publish_asset() -> dg.AssetsDefinition:
    mart_keys = mart_asset_keys()

    @dg.asset(
        key=PUBLISHED_KEY,
        deps=[*mart_keys.values(), RAW_GATE_KEY, MART_GATE_KEY],
        group_name="serving",
        kinds={"duckdb", "parquet"},
        description=(
            "The marts, published atomically to the serving folder (REVOPS_SERVE_DIR): "
            "revops.duckdb (schema marts, publish_log, alerts) and parquet/current/<mart>.parquet "
            "(fct_deal_snapshots: one file per month), writing only what changed. "
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
        as_of = settings.resolved_as_of_date()
        run_id = context.run_id
        _require_gates(context.instance, run_id)
        checks = _run_checks(context.instance, run_id)
        warned = [c for c in checks if not c["passed"]]
        where = _Where(settings)
        digests = (
            _hygiene_digests(settings, where, run_id, as_of) if "pipeline_hygiene_digest" in mart_keys else []
        )
        with duckdb.connect(str(settings.warehouse_path)) as con:
            raw_counts = table_row_counts(con, settings.raw_schema, load_suites("raw"))
        request = PublishRequest(
            run_id=run_id,
            as_of_date=as_of,
            marts=list(mart_keys),
            raw_row_counts=raw_counts,
            checks=[{k: c[k] for k in ("asset", "check", "passed", "severity")} for c in checks],
            alerts=[a.as_row() for a in warning_alerts(warned, run_id=run_id, as_of_date=as_of)]
            + [d.as_row() for d, _ in digests],
            source_key=settings.source_key(),
            allow_older=serving.allow_older,
            only_if_newer=serving.only_if_newer,
        )
        try:
            result = _publish(settings, serving.serve_dir_path(), request, where)
        except PublishError as error:
            raise dg.Failure(description=str(error), metadata={"stage": "publishing"}) from None
        if not result.published:
            context.log.info(f"built and gated, not published: {result.detail}")
            return dg.MaterializeResult(
                metadata={
                    "published": False,
                    "as_of_date": as_of.isoformat(),
                    "not_published_because": result.detail,
                }
            )
        _log_published(context, result)
        sent = _send_digests(context, alerting, settings, digests)
        return dg.MaterializeResult(
            metadata={
                "published": True,
                "publish_id": result.publish_id,
                **(
                    {"served_in": result.served_at}
                    if result.served_at
                    else {
                        "served_file": dg.MetadataValue.path(str(result.served_path)),
                        "parquet": dg.MetadataValue.path(str(result.parquet_dir)),
                    }
                ),
                "as_of_date": as_of.isoformat(),
                "published_at": result.published_at.isoformat() + "Z",
                "mart_row_counts": dg.MetadataValue.json(result.mart_row_counts),
                "checks_passed": sum(1 for c in checks if c["passed"]),
                "checks_warned": len(warned),
                "digests_sent": f"{sent}/{len(digests)}",
                **(
                    {"written": _what_was_written(result)}
                    if result.served_kept or result.partitions_written
                    else {}
                ),
                "seconds": round(result.seconds, 2),
            }
        )

    return published_marts


def _require_gates(instance: dg.DagsterInstance, run_id: str) -> None:
    """The gates' verdicts of this run are the only precondition: their blocking checks
    already stopped a bad run before this step; a run that selected publishing without them
    (a partial selection) is refused here, never re-validated."""
    built = run_materialized_keys(instance, run_id)
    missing = [key.to_user_string() for key in (RAW_GATE_KEY, MART_GATE_KEY) if key not in built]
    if missing:
        raise dg.Failure(
            description=(
                "publishing runs only after this run's raw gate and mart gate passed (job revops_build); "
                f"not materialized in this run: {', '.join(missing)}. Nothing was published."
            ),
            metadata={"stage": "publishing"},
        )


def _run_checks(instance: dg.DagsterInstance, run_id: str) -> list[dict]:
    """Every check this run evaluated, as the publish log records them."""
    return [
        {
            "asset": "/".join(e.asset_key.path),
            "check": e.check_name,
            "passed": e.passed,
            "severity": "blocking" if e.severity == dg.AssetCheckSeverity.ERROR else "warning",
            "message": e.description or "",
        }
        for _, e in run_check_records(instance, run_id)
    ]


class _Where:
    """Where the run's marts are and are published: PostgreSQL, Spark, or the DuckDB build file."""

    def __init__(self, settings: Settings) -> None:
        target = dbt_target()
        self.postgres = postgres_serving(settings) if target == "postgres" else None
        self.spark = spark_serving(settings) if target == "spark" else None


def _hygiene_digests(settings: Settings, where: _Where, run_id: str, as_of: dt.date) -> list:
    """The digest worded from the pipeline_hygiene_digest mart, read where dbt built it."""
    if where.spark is not None:
        return _spark_hygiene_digests(where.spark.marts_database, run_id, as_of)
    if where.postgres is not None:
        with duckdb.connect() as memory:
            marts_into_duckdb(
                where.postgres.dsn, where.postgres.marts_schema, ["pipeline_hygiene_digest"], memory
            )
            return hygiene_digests(memory, run_id=run_id, as_of_date=as_of)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        return hygiene_digests(con, run_id=run_id, as_of_date=as_of)


def _publish(settings: Settings, serve_dir: Path, request: PublishRequest, where: _Where) -> PublishResult:
    common = {"state_path": settings.state_path(), "days_kept": settings.served_days_kept}
    if where.spark is not None:
        return publish_marts_spark(where.spark, request, columns=mart_columns(), **common)
    if where.postgres is not None:
        return publish_marts_postgres(where.postgres, request, **common)
    return publish_marts(settings.warehouse_path, serve_dir, request, **common)


def _log_published(context: dg.AssetExecutionContext, result: PublishResult) -> None:
    if result.detail:
        context.log.warning(result.detail)
    notes = [_what_was_written(result)] if result.served_kept or result.partitions_written else []
    if result.parquet_reused:
        notes.append(f"{len(result.parquet_reused)} Parquet files unchanged and kept")
    if result.dropped:
        notes.append(f"{len(result.dropped)} databases of publishes no longer kept dropped")
    context.log.info(
        f"published {len(result.mart_row_counts)} marts to {result.served_at or result.served_path} "
        f"(publish {result.publish_id}, {result.seconds:.1f} s{''.join(f', {n}' for n in notes)})"
    )


def _what_was_written(result: PublishResult) -> str:
    """`12 marts unchanged and kept, fct_deal_snapshots 2 of 25 months written (2026-11, 2026-12)`."""
    parts = [f"{len(result.served_kept)} marts unchanged and kept"] if result.served_kept else []
    for mart, months in result.partitions_written.items():
        of = result.partition_counts.get(mart)
        listed = f" ({', '.join(months)})" if 0 < len(months) <= 3 else ""
        parts.append(f"{mart} {len(months)}{f' of {of}' if of else ''} months written{listed}")
    return ", ".join(parts)


def _send_digests(
    context: dg.AssetExecutionContext, alerting: AlertingResource, settings: Settings, digests: list
) -> int:
    """After the publish: the digest per manager; how many reached the webhook."""
    deliveries = [alerting.send(payload, settings) for _, payload in digests]
    sent = sum(d.delivered for d in deliveries)
    if digests:
        context.log.info(f"pipeline-hygiene digest: {len(digests)} managers, {sent} delivered to the webhook")
    for delivery in deliveries:
        if not delivery.delivered:
            context.log.warning(f"digest not delivered: {delivery.detail}")
            break
    return sent


def _spark_hygiene_digests(marts_database: str, run_id: str, as_of: dt.date) -> list:
    """The digest worded from the `pipeline_hygiene_digest` mart where Spark built it (one
    `spark_io export` child, read into an in-memory DuckDB)."""
    from revops import spark_io

    table = f"{marts_database}.pipeline_hygiene_digest"
    with tempfile.TemporaryDirectory(prefix="revops-spark-digest-") as scratch:
        spark_io.run("export", scratch, table)
        if not any((Path(scratch) / table).glob("*.parquet")):
            return []  # an empty mart: no digest to send
        with duckdb.connect() as memory:
            memory.execute("create schema marts")
            memory.execute(
                "create table marts.pipeline_hygiene_digest as select * from "
                f"read_parquet({quote_literal(str(Path(scratch) / table))} || '/*.parquet')"
            )
            return hygiene_digests(memory, run_id=run_id, as_of_date=as_of)


published_marts = build_publish_asset()
