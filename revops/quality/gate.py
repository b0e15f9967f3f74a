"""Running the gate: every suite of a layer on a schema, one outcome per named check; the entry
point for the raw tables of a working warehouse (the marts are gated by their dbt tests).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from revops.gate_coverage import ObjectCoverage, read_coverage, untracked_reason
from revops.publish.served import last_good_raw_counts
from revops.quality.gx_engine import GxRunner, PostgresGxRunner
from revops.quality.postgres import DUCKDB, PostgresGateConnection, PostgresTarget
from revops.quality.results import CheckOutcome, ExpectationResult, GateReport
from revops.quality.settings import GateSettings, gate_parameters
from revops.quality.sql_engine import run_sql_expectation
from revops.quality.suites import EXAMPLE_LIMIT, Suite, load_suites, resolve_parameters
from revops.quality.tables import Table, existing_tables
from revops.sql import qualified_name, scalar

if TYPE_CHECKING:
    from revops.settings import Settings


def run_gate(
    con: duckdb.DuckDBPyConnection | PostgresGateConnection,
    layer: str,
    *,
    schema: str,
    parameters: Mapping[str, Any],
    suites: Mapping[str, Suite] | None = None,
    tables: Iterable[str] | None = None,
    baseline_row_counts: Mapping[str, int] | None = None,
) -> GateReport:
    """Validate the tables of `schema` against the layer's suites.

    `tables` limits the run to some suites (default: all of the layer). `baseline_row_counts`
    are the row counts of the last good load (table -> rows) for the row-count checks.
    `con`: a DuckDB connection, or a `PostgresGateConnection` to validate the tables where
    they are in PostgreSQL (GX's SQL datasource there; the same SQL checks): the outcomes
    are the same for the same data.
    """
    started = time.monotonic()
    suites = dict(suites if suites is not None else load_suites(layer))
    selected = [suites[t] for t in (tables if tables is not None else suites) if t in suites]
    if isinstance(con, PostgresGateConnection):
        report = GateReport(layer=layer, engine=con.engine, where=con.target.describe())
        gx_runner: GxRunner = PostgresGxRunner(con.target)
    else:
        report = GateReport(layer=layer, engine=DUCKDB)
        gx_runner = GxRunner()
    coverage = read_coverage(con, schema) if layer == "raw" else None
    for suite in selected:
        report.outcomes.extend(
            _validate_suite(
                con, suite, schema, parameters, gx_runner, dict(baseline_row_counts or {}), coverage
            )
        )
    report.seconds = time.monotonic() - started
    return report


def table_row_counts(con: Any, schema: str, tables: Iterable[str]) -> dict[str, int]:
    """Rows per table (tables that do not exist are left out)."""
    existing = existing_tables(con, schema)
    return {
        t: scalar(con, f"select count(*) from {qualified_name(schema, t)}") for t in tables if t in existing
    }


def _validate_suite(
    con: Any,
    suite: Suite,
    schema: str,
    parameters: Mapping[str, Any],
    gx_runner: GxRunner,
    baselines: Mapping[str, int],
    coverage: Mapping[str, ObjectCoverage] | None = None,
) -> list[CheckOutcome]:
    started = time.monotonic()
    table = Table(con, schema, suite.table, suite.example_columns, suite.deleted_flag)
    results: list[ExpectationResult] = []
    skipped = {
        id(e): reason
        for e in suite.expectations
        if (reason := untracked_reason(coverage, suite.table, e.type, e.kwargs, e.meta))
    }
    if not table.exists and len(skipped) < len(suite.expectations):
        results = [
            ExpectationResult(e, False, None, (), f"table {table.display} does not exist")
            for e in suite.expectations
        ]
    else:
        resolved = [
            (e, resolve_parameters(e.kwargs, parameters)) for e in suite.expectations if id(e) not in skipped
        ]
        gx_items = [(e, kw) for e, kw in resolved if e.engine == "gx"]
        by_index = {}
        for exp, result in gx_runner.validate(table, gx_items):
            by_index[id(exp)] = result
        for exp, kwargs in resolved:
            if exp.engine == "gx":
                results.append(by_index[id(exp)])
            else:
                results.append(run_sql_expectation(table, exp, kwargs, parameters, baselines))
        results += [
            ExpectationResult(e, True, detail=skipped[id(e)], not_tracked=True)
            for e in suite.expectations
            if id(e) in skipped
        ]
    seconds = time.monotonic() - started
    outcomes: dict[str, CheckOutcome] = {}
    reasons: dict[str, list[str]] = {}
    for result in results:
        exp = result.expectation
        outcome = outcomes.setdefault(
            exp.check,
            CheckOutcome(
                layer=suite.layer,
                schema=schema,
                table=suite.table,
                check=exp.check,
                severity=exp.severity,
                passed=True,
                failing_rows=None,
                examples=[],
                details=[],
                expectation_count=0,
            ),
        )
        if result.not_tracked:
            reasons.setdefault(exp.check, []).append(result.detail)
            continue
        outcome.expectation_count += 1
        if result.passed:
            continue
        outcome.passed = False
        if result.failing_rows is not None:
            outcome.failing_rows = (outcome.failing_rows or 0) + result.failing_rows
        if result.detail not in outcome.details:
            outcome.details.append(result.detail)
        room = EXAMPLE_LIMIT - len(outcome.examples)
        outcome.examples.extend(result.examples[: max(room, 0)])
    for outcome in outcomes.values():
        outcome.seconds = seconds / max(len(outcomes), 1)
        if outcome.expectation_count == 0 and outcome.check in reasons:
            # nothing of this check could run: it is neither passed nor failed
            outcome.not_tracked = "; ".join(dict.fromkeys(reasons[outcome.check]))
    return list(outcomes.values())


def load_log_previous_counts(con: Any, schema: str) -> dict[str, int]:
    """Row counts of the previous load of a different file, from the loader's `_load_log`."""
    if "_load_log" not in existing_tables(con, schema):
        return {}
    rows = con.execute(
        f"select object, previous_row_count from {qualified_name(schema, '_load_log')} "
        "where previous_row_count is not null"
    ).fetchall()
    return {name: int(count) for name, count in rows}


def validate_raw_tables(
    settings: Settings,
    *,
    gate_settings: GateSettings | None = None,
    baseline_row_counts: Mapping[str, int] | None = None,
    postgres: PostgresTarget | None = None,
) -> GateReport:
    """The raw gate on the raw tables of `settings` (a `revops.settings.Settings`): in the
    working DuckDB warehouse, or with `postgres` where they are in that PostgreSQL database
    (the postgres target copies them there first).

    `baseline_row_counts`: the raw row counts of the last good (published) load; when
    there is none yet, the loader's `_load_log` previous counts stand in (copied to
    PostgreSQL with the raw tables, like `_source_coverage`)."""
    gate_settings = gate_settings or settings.gate
    connection = _postgres_connection(postgres) if postgres else _gate_connection(settings, gate_settings)
    with connection as con:
        if not baseline_row_counts:
            baseline_row_counts = load_log_previous_counts(con, settings.raw_schema)
        return run_gate(
            con,
            "raw",
            schema=settings.raw_schema,
            parameters=gate_parameters(settings.resolved_as_of_date(), gate_settings),
            baseline_row_counts=baseline_row_counts,
        )


@contextlib.contextmanager
def _postgres_connection(target: PostgresTarget) -> Iterator[PostgresGateConnection]:
    con = PostgresGateConnection(target)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def _gate_connection(settings: Settings, gate_settings: GateSettings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The working warehouse, with DuckDB's memory capped while the gate runs."""
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        previous = scalar(con, "select current_setting('memory_limit')")
        con.execute("set memory_limit = ?", [gate_settings.memory_limit])
        try:
            yield con
        finally:
            con.execute("set memory_limit = ?", [previous])
    finally:
        con.close()


def raw_baseline(settings: Settings, serve_dir: Path) -> dict[str, int]:
    """The row-count baseline of this run's source (its landing folder), from the state
    file beside the working warehouse: never the served file (see `revops.state`)."""
    return last_good_raw_counts(
        settings.warehouse_path,
        settings.source_key(),
        serve_dir=serve_dir,
        loads=settings.baseline_loads,
        tables=load_suites("raw"),
    )
