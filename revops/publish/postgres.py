"""Publishing where the warehouse is PostgreSQL: the audited marts served from schemas of the
same database dbt built them in, swapped in one transaction.

    marts                   dbt's own schema (incremental state lives there: never renamed)
    revops_served           what BI reads: one table per mart, plus `served_publish` (this
                            publish's row of the publish log)
    revops_served__<id>     the schemas of earlier publishes still kept (the as-of picker)
    revops_served__tmp_<id> a publish being prepared (dropped if it fails or was killed)
    revops_served_history   `publish_log` and `alerts` (the columns of PUBLISH_LOG_COLUMNS and
                            ALERTS_COLUMNS), the history of every publish

(`revops_served` is `PostgresServing.served_schema`, setting REVOPS_PG_SERVED_SCHEMA.)

A publish copies each mart server-side (`create table ... as select * from marts.<mart>`)
into a fresh schema, then in ONE transaction takes an ACCESS EXCLUSIVE lock on every table
of the served schema (waiting, up to `lock_timeout_seconds`, for readers' open transactions
to end), renames the served schema to `revops_served__<its publish id>`, renames the fresh
one to `revops_served`, and writes the publish log row and the alert rows. A reader sees the
old state or the new one, never half: a transaction that read any served table holds its
lock until it ends, so the swap waits for it; a query that waited on the swap resolves the
names again once it commits (PostgreSQL re-looks-up a name whose lock wait saw a catalog
change) and reads the new tables.

Then the publish is committed to the state file beside the working warehouse (the gate's
row-count baselines, `revops.state`); a publish whose state commit failed is recorded there by
the next publish (from the PostgreSQL log, the truth for what BI reads here). Older schemas are
dropped last: the current one, the one before it (a reader mid-read), and the last publish of
each of the `days_kept` latest as_of_dates are kept.

Refusals are those of the DuckDB publish: an older as_of_date than the one served (unless
`allow_older`), not newer with `only_if_newer` (published=False), and a failed gate never
calls this at all. One publisher at a time: a session advisory lock, freed if the process dies.

Plain psycopg2, values in and out: no Dagster, no environment reads.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from revops import state
from revops.clock import utcnow
from revops.publish.content import FINGERPRINT_DECIMALS
from revops.publish.files import DEFAULT_SERVED_DAYS_KEPT
from revops.publish.postgres_served import (
    BUILDING_INFIX,
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    DEFAULT_SERVED_SCHEMA,
    PUBLISH_MARKER,
    PostgresServing,
    connect,
    create_log_table,
    describe_served_postgres,
    ensure_history,
    fetch_rows,
    insert_rows,
    last_of_each_day,
    schemas_named,
    tables_in,
)
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
from revops.sql import quote_identifier

__all__ = [
    "DEFAULT_LOCK_TIMEOUT_SECONDS",
    "DEFAULT_SERVED_SCHEMA",
    "PostgresServing",
    "publish_marts_postgres",
]

KEEP_PREVIOUS = 1  # besides the kept days: the publish before the current one, for readers mid-read

# The steps of a PostgreSQL publish, in order; `on_step(name)` is called before each.
PG_PUBLISH_STEPS = (
    "copy_marts",  # the marts copied server-side into revops_served__tmp_<id>, with served_publish
    "swap_schemas",  # one transaction: the served schema renamed away, the new one in, the log rows
    "commit_state",  # the publish recorded in the state file (the gate's baselines)
    "finish",  # schemas of publishes no longer kept dropped
)


def _lock_key(serving: PostgresServing) -> int:
    digest = hashlib.sha256(f"revops-publish:{serving.served_schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def mart_fingerprints_postgres(cur: Any, schema: str, marts: Sequence[str]) -> tuple[dict, dict]:
    """Row count and an order-independent fingerprint (sum of row md5s, floating-point columns
    rounded to 6 decimals) of each mart. Not comparable with DuckDB's `mart_fingerprints`: only
    with another PostgreSQL publish's."""
    counts, prints = {}, {}
    for mart in marts:
        cur.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            [schema, mart],
        )
        values = ", ".join(
            f"round({quote_identifier(name)}::numeric, {FINGERPRINT_DECIMALS})"
            if kind in ("double precision", "real")
            else quote_identifier(name)
            for name, kind in cur.fetchall()
        )
        cur.execute(
            f"select count(*), coalesce(sum(('x' || left(md5(row({values})::text), 15))::bit(60)::bigint), 0) "
            f"from {quote_identifier(schema)}.{quote_identifier(mart)}"
        )
        rows, digest = cur.fetchone()
        counts[mart], prints[mart] = int(rows), f"{int(digest):x}"
    return counts, prints


def publish_marts_postgres(
    serving: PostgresServing,
    request: PublishRequest,
    *,
    state_path: Path | None = None,
    on_step: Callable[[str], None] | None = None,
    days_kept: int = DEFAULT_SERVED_DAYS_KEPT,
) -> PublishResult:
    """Publish the marts dbt built in `serving.marts_schema`, all or nothing, in the same
    PostgreSQL database. Call only after every blocking check passed.

    `state_path`: the state file the publish is also committed to (the gate's baselines).
    `on_step`: called with each name of `PG_PUBLISH_STEPS` before that step runs.
    Raises OlderAsOfError for an older as_of_date than the one served (unless
    `request.allow_older`), PublishError naming the failed step and what BI reads."""
    started = time.monotonic()
    if int(days_kept) < 1:
        raise PublishError(f"days_kept={days_kept!r}: expected 1 or more published days to keep")
    state_file = Path(state_path) if state_path is not None else None
    publish_id = f"{utcnow():%Y%m%dT%H%M%S}-{request.run_id[:8]}-{uuid.uuid4().hex[:6]}"
    step = lambda name: on_step(name) if on_step is not None else None  # noqa: E731
    served, building = serving.served_schema, serving.building_schema(publish_id)
    q_served, q_building = quote_identifier(served), quote_identifier(building)
    history = quote_identifier(serving.history_schema)
    where = {"served_path": Path(served), "parquet_dir": Path(served)}  # not files: the served schema
    with connect(serving.dsn) as con:
        con.autocommit = True
        _advisory_lock(con, serving)
        try:
            con.autocommit = False
            with con, con.cursor() as cur:
                ensure_history(cur, serving)
                for schema in schemas_named(cur, served):  # under the lock: a killed publisher's
                    if schema.startswith(served + BUILDING_INFIX):
                        cur.execute(f"drop schema {quote_identifier(schema)} cascade")
                log = fetch_rows(cur, f"select * from {history}.publish_log order by published_at desc")
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
            log_row = publish_log_row(publish_id, request, published_at, serving.kept_schema(publish_id))
            current_step = "copy_marts"
            try:
                step(current_step)
                with con, con.cursor() as cur:
                    present = set(tables_in(cur, serving.marts_schema))
                    missing = [m for m in request.marts if m not in present]
                    if missing:
                        raise PublishError(
                            f"the PostgreSQL warehouse has no "
                            f"{', '.join(f'{serving.marts_schema}.{m}' for m in missing)}"
                        )
                    cur.execute(f"create schema {q_building}")
                    for mart in request.marts:
                        cur.execute(
                            f"create table {q_building}.{quote_identifier(mart)} as select * from "
                            f"{quote_identifier(serving.marts_schema)}.{quote_identifier(mart)}"
                        )
                    counts, prints = mart_fingerprints_postgres(cur, building, request.marts)
                    log_row.update(mart_row_counts=counts, mart_fingerprints=prints)
                    create_log_table(cur, f"{q_building}.{PUBLISH_MARKER}", PUBLISH_LOG_COLUMNS)
                    insert_rows(cur, f"{q_building}.{PUBLISH_MARKER}", PUBLISH_LOG_COLUMNS, [log_row])

                current_step = "swap_schemas"
                step(current_step)
                with con, con.cursor() as cur:
                    if served in schemas_named(cur, served):
                        tables = tables_in(cur, served)
                        _lock_all(cur, served, tables, serving.lock_timeout_seconds)
                        previous = _served_publish_id(cur, served) if PUBLISH_MARKER in tables else None
                        aside = serving.kept_schema(previous or f"unknown-{publish_id}")
                        cur.execute(f"alter schema {q_served} rename to {quote_identifier(aside)}")
                    cur.execute(f"alter schema {q_building} rename to {q_served}")
                    insert_rows(cur, f"{history}.publish_log", PUBLISH_LOG_COLUMNS, [log_row])
                    known = _alert_ids(cur, serving)
                    new_alerts = state.alerts_to_record(request.alerts, known, state_file)
                    insert_rows(cur, f"{history}.alerts", ALERTS_COLUMNS, new_alerts)
            except BaseException as error:
                con.rollback()
                _drop_quietly(con, building)
                if not isinstance(error, Exception):
                    raise
                reason = failure_reason(error)
                raise PublishError(
                    f"publishing {publish_id} failed at step {current_step} ({reason}); nothing of it is "
                    f"served: {describe_served_postgres(serving)}"
                ) from error

            warnings = []
            try:
                step("commit_state")
                if state_file is not None:
                    state.commit_publish(state_file, log_row, request.alerts)
            except Exception as error:
                warnings.append(
                    f"published in PostgreSQL, but the state file {state_file} could not record it "
                    f"({type(error).__name__}: {error}); the next publish records it there"
                )
            try:
                step("finish")
                prune_served_schemas(con, serving, int(days_kept))
            except Exception as error:
                con.rollback()
                warnings.append(
                    f"published, but dropping old schemas failed ({type(error).__name__}: {error}); "
                    "the next publish does it"
                )
        finally:
            con.rollback()
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute("select pg_advisory_unlock(%s)", [_lock_key(serving)])
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
    )


def _advisory_lock(con: Any, serving: PostgresServing, timeout_seconds: float = 600) -> None:
    """One publisher per served schema: a session advisory lock (freed when the process dies)."""
    deadline = time.monotonic() + timeout_seconds
    with con.cursor() as cur:
        while True:
            cur.execute("select pg_try_advisory_lock(%s)", [_lock_key(serving)])
            if cur.fetchone()[0]:
                return
            if time.monotonic() > deadline:
                raise PublishError(
                    f"another publish to {serving.describe()} holds its lock for more than {timeout_seconds:.0f} s"
                )
            time.sleep(0.2)


def _lock_all(cur: Any, schema: str, tables: Sequence[str], timeout_seconds: float) -> None:
    """ACCESS EXCLUSIVE locks on every table of `schema`, all at once or none: NOWAIT, retried
    until `timeout_seconds`. Never holding some while waiting for others, a publish cannot
    deadlock with a reader going from table to table, and readers never queue behind it."""
    import psycopg2.errors

    if not tables:
        return
    names = ", ".join(f"{quote_identifier(schema)}.{quote_identifier(t)}" for t in tables)
    deadline = time.monotonic() + timeout_seconds
    while True:
        cur.execute("savepoint revops_swap_lock")
        try:
            cur.execute(f"lock table {names} in access exclusive mode nowait")
            cur.execute("release savepoint revops_swap_lock")
            return
        except psycopg2.errors.LockNotAvailable:
            cur.execute("rollback to savepoint revops_swap_lock")  # frees the locks it did take
        if time.monotonic() > deadline:
            raise PublishError(
                f"lock timeout: a reader kept a table of {schema} open for more than {timeout_seconds:g} s "
                "(its transaction must end before the swap)"
            )
        time.sleep(0.1)


def _served_publish_id(cur: Any, served: str) -> str | None:
    cur.execute(f"select publish_id from {quote_identifier(served)}.{PUBLISH_MARKER} limit 1")
    row = cur.fetchone()
    return row[0] if row else None


def _alert_ids(cur: Any, serving: PostgresServing) -> set[str]:
    cur.execute(f"select alert_id from {quote_identifier(serving.history_schema)}.alerts")
    return {alert_id for (alert_id,) in cur.fetchall()}


def _drop_quietly(con: Any, schema: str) -> None:
    try:
        with con, con.cursor() as cur:
            cur.execute(f"drop schema if exists {quote_identifier(schema)} cascade")
    except Exception:
        con.rollback()  # a killed or failed publish's schema is dropped by the next publish


def prune_served_schemas(con: Any, serving: PostgresServing, days_kept: int) -> list[str]:
    """Drop the schemas of publishes no longer kept: all but the served one, the one before it
    and the last publish of each of the `days_kept` latest as_of_dates. Returns those dropped."""
    with con, con.cursor() as cur:
        log = fetch_rows(
            cur,
            f"select publish_id, as_of_date from {quote_identifier(serving.history_schema)}.publish_log "
            "order by published_at desc, publish_id desc",
        )
        keep = {serving.served_schema}
        keep |= {serving.kept_schema(row["publish_id"]) for row in log[: 1 + KEEP_PREVIOUS]}
        keep |= {serving.kept_schema(day.publish_id) for day in last_of_each_day(log)[:days_kept]}
        dropped = []
        for schema in sorted(schemas_named(cur, serving.served_schema) - keep):  # call under the publish lock
            cur.execute(f"drop schema {quote_identifier(schema)} cascade")
            dropped.append(schema)
    return dropped


def record_alerts_postgres(serving: PostgresServing, alerts: Sequence[Mapping[str, Any]]) -> int:
    """A failed run's alert rows added to the history's `alerts` (the marts are not touched).
    Returns the rows added (those whose alert_id is not there yet)."""
    with connect(serving.dsn) as con, con, con.cursor() as cur:
        ensure_history(cur, serving)
        known = _alert_ids(cur, serving)
        new = [a for a in alerts if a.get("alert_id") not in known]
        insert_rows(cur, f"{quote_identifier(serving.history_schema)}.alerts", ALERTS_COLUMNS, new)
    return len(new)
