"""Publishing where the warehouse is Spark: the audited marts served from databases of the
same metastore dbt built them in, the served database's views repointed in one step.

    marts                       dbt's own database (incremental state: never touched here)
    revops_served__<publish>    a publish's marts (`create table ... as select` from marts),
                                with `served_publish` (its publish-log row); kept for the
                                as-of picker while retained
    revops_served               what BI reads: a view per mart over the served publish's database
    revops_served_history       `publish_log` and `alerts` (PUBLISH_LOG_COLUMNS, ALERTS_COLUMNS)

A publish copies each mart server-side into a new database (columns in the model's declared
order: Spark stores a partition column last), then repoints every view of `revops_served` to
it (`create or replace view`, marker view last) and appends the publish-log and alert rows.
It all runs in one `revops.spark_io publish` child process, and the local Derby metastore
admits one process at a time (`spark_io.run` also holds an flock beside it while a child
runs): no reader (a dashboard export, dbt) can open the catalog between two repointed views,
so readers see every view of the old publish or every view of the new one. A reader that
needs more than one query to agree (the dashboard) reads `revops_served.served_publish` and
then the publish's own database, which never changes.

Then, in the same child, the publish is committed to the state file beside the working
warehouse (the gate's row-count baselines, `revops.state`); a publish the state file missed is
recorded there by the next publish (from the Spark history, the truth for what BI reads here),
and one the history missed (a child killed between the repoint and the log row) is recorded
there from its marker. Databases of publishes no longer kept are dropped last: the served one,
the one before it (a reader mid-read) and the last publish of each of the `days_kept` latest
as_of_dates are kept; a killed publish's half-built database is dropped with them.

Refusals are those of the DuckDB publish: an older as_of_date than the one served (unless
`allow_older`), not newer with `only_if_newer` (published=False); a failed gate never calls this.
"""

from __future__ import annotations

import contextlib
import pickle
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from revops import state
from revops.clock import utcnow
from revops.publish.content import FINGERPRINT_DECIMALS
from revops.publish.files import DEFAULT_SERVED_DAYS_KEPT
from revops.publish.postgres_served import last_of_each_day
from revops.publish.request import (
    PublishError,
    PublishRequest,
    PublishResult,
    failure_reason,
    not_published,
    older_as_of_refusal,
    publish_log_row,
)
from revops.publish.served import ALERTS_COLUMNS, PUBLISH_LOG_COLUMNS
from revops.publish.spark_served import (
    PUBLISH_MARKER,
    SparkServing,
    create_log_table,
    databases,
    describe_served_spark,
    ensure_history,
    fetch_rows,
    insert_rows,
    marker_row,
    read_log,
    relations_in,
)

KEEP_PREVIOUS = 1  # besides the kept days: the publish before the current one, for readers mid-read

# The steps of a Spark publish, in order (named in a failure's message).
SPARK_PUBLISH_STEPS = (
    "copy_marts",  # the marts copied into revops_served__<id>, with served_publish
    "repoint_views",  # the served database's views repointed to it, the log and alert rows appended
    "commit_state",  # the publish recorded in the state file (the gate's baselines)
    "finish",  # databases of publishes no longer kept dropped
)


def publish_marts_spark(
    serving: SparkServing,
    request: PublishRequest,
    *,
    columns: Mapping[str, Sequence[str]] | None = None,
    state_path: Path | None = None,
    days_kept: int = DEFAULT_SERVED_DAYS_KEPT,
    environ: dict[str, str] | None = None,
) -> PublishResult:
    """Publish the marts dbt built in `serving.marts_database`, all or nothing, in the same
    Spark metastore (a `revops.spark_io publish` child process). Call only after every
    blocking check passed.

    `columns`: each mart's columns in their declared order (others follow); `state_path`: the
    state file the publish is also committed to; `environ`: added to the child's environment
    (REVOPS_SPARK_*). Raises OlderAsOfError for an older as_of_date than the one served
    (unless `request.allow_older`), PublishError naming the failed step and what BI reads."""
    from revops import spark_io

    if int(days_kept) < 1:
        raise PublishError(f"days_kept={days_kept!r}: expected 1 or more published days to keep")
    job = {
        "serving": serving,
        "request": request,
        "columns": {k: list(v) for k, v in (columns or {}).items()},
        "state_path": Path(state_path) if state_path is not None else None,
        "days_kept": int(days_kept),
    }
    with tempfile.TemporaryDirectory(prefix="revops-spark-publish-") as scratch:
        (Path(scratch) / "job.pickle").write_bytes(pickle.dumps(job))
        try:
            spark_io.run("publish", scratch, environ=environ)
        except spark_io.SparkStepError as error:
            raise PublishError(
                f"publishing in Spark failed: the child process died ({error}); BI reads what it read "
                f"before in {serving.describe()}, unless the child died after repointing its views "
                "(`revops status` says which)"
            ) from error
        outcome = pickle.loads((Path(scratch) / "result.pickle").read_bytes())
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def run_publish_job(folder: Path) -> dict[str, Any]:
    """In the `spark_io publish` child: the job pickled in `folder`, published; its
    PublishResult (or its PublishError) pickled back beside it."""
    from revops.spark_io import session

    job = pickle.loads((folder / "job.pickle").read_bytes())
    spark = session()
    try:
        try:
            outcome: Any = publish_in_session(
                spark,
                job["serving"],
                job["request"],
                columns=job["columns"],
                state_path=job["state_path"],
                days_kept=job["days_kept"],
            )
        except PublishError as error:
            outcome = error
    finally:
        spark.stop()
    (folder / "result.pickle").write_bytes(pickle.dumps(outcome))
    return {"published": isinstance(outcome, PublishResult) and outcome.published}


def mart_fingerprints_spark(spark: Any, database: str, marts: Sequence[str]) -> tuple[dict, dict]:
    """Row count and an order-independent fingerprint (sum of row xxhash64s, floating-point
    columns rounded to 6 decimals) of each mart: comparable with another Spark publish's only."""
    counts, prints = {}, {}
    for mart in marts:
        frame = spark.table(f"`{database}`.`{mart}`")
        values = ", ".join(
            f"round(`{f.name}`, {FINGERPRINT_DECIMALS})"
            if f.dataType.simpleString() in ("double", "float")
            else f"`{f.name}`"
            for f in frame.schema.fields
        )
        row = spark.sql(
            f"select count(*) as n, coalesce(sum(cast(xxhash64({values}) as decimal(38, 0))), 0) as digest "
            f"from `{database}`.`{mart}`"
        ).collect()[0]
        counts[mart], prints[mart] = int(row["n"]), f"{int(row['digest']):x}"
    return counts, prints


def publish_in_session(
    spark: Any,
    serving: SparkServing,
    request: PublishRequest,
    *,
    columns: Mapping[str, Sequence[str]] | None = None,
    state_path: Path | None = None,
    days_kept: int = DEFAULT_SERVED_DAYS_KEPT,
) -> PublishResult:
    """The publish itself, on an open SparkSession (see the module's docstring)."""
    started = time.monotonic()
    state_file = Path(state_path) if state_path is not None else None
    publish_id = f"{utcnow():%Y%m%dT%H%M%S}-{request.run_id[:8]}-{uuid.uuid4().hex[:6]}"
    served, building = serving.served_database, serving.publish_database(publish_id)
    history = f"`{serving.history_database}`"
    where = {"served_path": Path(served), "parquet_dir": Path(served)}  # not files: the served database

    ensure_history(spark, serving)
    log = read_log(spark, serving)
    current = marker_row(spark, served)
    if current is not None and current["publish_id"] not in {row["publish_id"] for row in log}:
        insert_rows(spark, f"{history}.publish_log", PUBLISH_LOG_COLUMNS, [current])  # a killed publish's
        log = read_log(spark, serving)
    if state_file is not None:
        state.record_missing_publishes(state_file, log)
    skipped = not_published(
        request,
        started,
        older_as_of_refusal(log[0] if log else None, request),
        served_at=serving.describe(),
        **where,
    )
    if skipped is not None:
        return skipped
    published_at = utcnow()
    log_row = publish_log_row(publish_id, request, published_at, building)
    current_step = "copy_marts"
    try:
        present = set(relations_in(spark, serving.marts_database))
        missing = [m for m in request.marts if m not in present]
        if missing:
            raise PublishError(
                f"the Spark warehouse has no {', '.join(f'{serving.marts_database}.{m}' for m in missing)}"
            )
        spark.sql(f"create database `{building}`")
        for mart in request.marts:
            source = f"`{serving.marts_database}`.`{mart}`"
            actual = spark.table(source).columns
            declared = list((columns or {}).get(mart, []))
            ordered = [c for c in declared if c in actual] + [c for c in actual if c not in declared]
            spark.sql(
                f"create table `{building}`.`{mart}` using parquet as "
                f"select {', '.join(f'`{c}`' for c in ordered)} from {source}"
            )
        counts, prints = mart_fingerprints_spark(spark, building, request.marts)
        log_row.update(mart_row_counts=counts, mart_fingerprints=prints)
        create_log_table(spark, f"`{building}`.{PUBLISH_MARKER}", PUBLISH_LOG_COLUMNS)
        insert_rows(spark, f"`{building}`.{PUBLISH_MARKER}", PUBLISH_LOG_COLUMNS, [log_row])

        current_step = "repoint_views"
        spark.sql(f"create database if not exists `{served}`")
        before = set(relations_in(spark, served))
        for name in [*request.marts, PUBLISH_MARKER]:  # the marker last: it names the publish served
            spark.sql(f"create or replace view `{served}`.`{name}` as select * from `{building}`.`{name}`")
        for name in sorted(before - {*request.marts, PUBLISH_MARKER}):  # marts no longer published
            spark.sql(f"drop view if exists `{served}`.`{name}`")
    except Exception as error:
        if current_step == "copy_marts":
            _drop_quietly(spark, building)
        reason = failure_reason(error)
        raise PublishError(
            f"publishing {publish_id} failed at step {current_step} ({reason[:2000]}); "
            f"{describe_served_spark(spark, serving)}"
        ) from None

    warnings = []
    insert_rows(spark, f"{history}.publish_log", PUBLISH_LOG_COLUMNS, [log_row])
    known = {row["alert_id"] for row in fetch_rows(spark, f"select alert_id from {history}.alerts")}
    new_alerts = state.alerts_to_record(request.alerts, known, state_file)
    insert_rows(spark, f"{history}.alerts", ALERTS_COLUMNS, new_alerts)
    try:
        if state_file is not None:
            state.commit_publish(state_file, log_row, request.alerts)
    except Exception as error:
        warnings.append(
            f"published in Spark, but the state file {state_file} could not record it "
            f"({type(error).__name__}: {error}); the next publish records it there"
        )
    dropped: list[str] = []
    try:
        dropped = prune_served_databases(spark, serving, int(days_kept))
    except Exception as error:
        warnings.append(
            f"published, but dropping old databases failed ({type(error).__name__}: {error}); "
            "the next publish does it"
        )
    return PublishResult(
        publish_id=publish_id,
        run_id=request.run_id,
        as_of_date=request.as_of_date,
        published_at=published_at,
        mart_row_counts=counts,
        mart_fingerprints=prints,
        seconds=time.monotonic() - started,
        detail="; ".join(warnings),
        served_path=where["served_path"],
        parquet_dir=where["parquet_dir"],
        served_at=serving.describe(),
        dropped=tuple(dropped),
    )


def _drop_quietly(spark: Any, database: str) -> None:
    with contextlib.suppress(Exception):  # else the next publish drops it (in no log, not kept)
        spark.sql(f"drop database if exists `{database}` cascade")


def prune_served_databases(spark: Any, serving: SparkServing, days_kept: int) -> list[str]:
    """Drop the databases of publishes no longer kept: all but the served one, the one before
    it and the last publish of each of the `days_kept` latest as_of_dates (and a killed
    publish's, in no log). Returns those dropped. Call under the publish's metastore lock."""
    log = read_log(spark, serving)
    current = marker_row(spark, serving.served_database)
    keep = {serving.publish_database(current["publish_id"])} if current else set()
    keep |= {serving.publish_database(row["publish_id"]) for row in log[: 1 + KEEP_PREVIOUS]}
    keep |= {serving.publish_database(day.publish_id) for day in last_of_each_day(log)[:days_kept]}
    dropped = []
    for name in sorted(n for n in databases(spark) if serving.is_publish_database(n) and n not in keep):
        spark.sql(f"drop database `{name}` cascade")
        dropped.append(name)
    return dropped
