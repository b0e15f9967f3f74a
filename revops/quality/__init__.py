"""The raw gate: the Great Expectations suites in `expectations/raw/`, run where the raw tables
are: in DuckDB, or on the postgres target in PostgreSQL (the same outcomes; `postgres`).

One suite per raw table, as data (`expectations/raw/<object>.json`); see
`expectations/README.md` for the format. The marts are not gated here: their invariants are
dbt tests (model-level generic tests with var-driven bounds), run by `dbt build` as Dagster
asset checks (DECISIONS.md, "One gate"). Each
expectation carries a `check` name (expectations with the same name form one check,
one Dagster asset check) and a `severity`: `blocking` stops the run, `warning` is
reported and does not.

Two engines, one suite format:

- `gx`: Great Expectations on pandas. GX's SQL datasource does not work on DuckDB
  (GX issues #10738, #11579) and GX on pandas is far too slow for whole tables of
  millions of rows (about 10 s per million rows and expectation, ~2 GB at 5M rows),
  so the column expectations whose outcome depends on each value alone (not null,
  in set, between, regex, min/max) are validated on the column's *value frequencies*:
  DuckDB reduces the column to `(value, row count)` and GX validates those distinct
  values; failing rows are the summed row counts of the values GX flags. Table
  expectations (`expect_column_to_exist`, ...) run on a zero-row frame of the table.
- `duckdb`: set-based checks run as SQL where they belong: unique and non-null ids,
  foreign keys, the row count against the last good load, types that parse, and
  GX's `unexpected_rows_expectation` (a query returning the bad rows).

Every failure names the table, the check, the number of failing rows and up to five
example values with where they came from (`_source_file` line `_source_row` for raw
tables). Values from the data are never spliced into SQL.

On PostgreSQL (`run_gate` given a `postgres.PostgresGateConnection`) the `gx` expectations run
through GX's SQL datasource for PostgreSQL (it works there) on the live rows, and the `duckdb`
ones as the same SQL text, run by PostgreSQL.

The package, one module per part: `suites` (the suite files), `settings` (thresholds and
the values suites refer to), `results` (outcomes and reports), `tables` (a table being
validated), `sql_engine` and `gx_engine` (the two engines), `gate` (running it: `run_gate`,
`validate_raw_tables`), `postgres` (the PostgreSQL connection).
"""

from __future__ import annotations

from revops.quality.gate import (
    load_log_previous_counts,
    raw_baseline,
    run_gate,
    table_row_counts,
    validate_raw_tables,
)
from revops.quality.gx_engine import preload_great_expectations
from revops.quality.results import CheckOutcome, Example, ExpectationResult, GateReport
from revops.quality.settings import STAGE_MAP_PATH, GateSettings, gate_parameters, known_stage_names
from revops.quality.suites import (
    BLOCKING,
    EXAMPLE_LIMIT,
    GX_TYPES,
    LAYERS,
    NOT_TRACKED,
    SEVERITIES,
    SQL_TYPES,
    WARNING,
    CheckSpec,
    Expectation,
    Suite,
    SuiteError,
    load_suite,
    load_suites,
)

__all__ = [
    "BLOCKING",
    "EXAMPLE_LIMIT",
    "GX_TYPES",
    "LAYERS",
    "NOT_TRACKED",
    "SEVERITIES",
    "SQL_TYPES",
    "STAGE_MAP_PATH",
    "WARNING",
    "CheckOutcome",
    "CheckSpec",
    "Example",
    "Expectation",
    "ExpectationResult",
    "GateReport",
    "GateSettings",
    "Suite",
    "SuiteError",
    "gate_parameters",
    "known_stage_names",
    "load_log_previous_counts",
    "load_suite",
    "load_suites",
    "preload_great_expectations",
    "raw_baseline",
    "run_gate",
    "table_row_counts",
    "validate_raw_tables",
]
