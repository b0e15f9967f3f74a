"""The quality gate: the Great Expectations suites in `expectations/`, run on DuckDB tables.

One suite per validated table, as data (`expectations/raw/<object>.json`,
`expectations/marts/<mart>.json`); see `expectations/README.md` for the format. Each
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
tables, the key columns for marts). Values from the data are never spliced into SQL.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from revops.gate_coverage import read_coverage, untracked_reason
from revops.paths import EXPECTATIONS_DIR, SEEDS_DIR
from revops.sql import quote_identifier

STAGE_MAP_PATH = SEEDS_DIR / "stage_map.csv"

LAYERS = ("raw", "marts")
BLOCKING = "blocking"
WARNING = "warning"
SEVERITIES = (BLOCKING, WARNING)
EXAMPLE_LIMIT = 5

ENV_MAX_ROW_DROP_RATE = "REVOPS_GATE_MAX_ROW_DROP_RATE"
ENV_FRESHNESS_DAYS = "REVOPS_GATE_FRESHNESS_DAYS"
ENV_CLOSE_DATE_YEARS_AHEAD = "REVOPS_GATE_CLOSE_DATE_YEARS_AHEAD"
ENV_MEMORY_LIMIT = "REVOPS_GATE_MEMORY_LIMIT"
ENV_MAX_DEAL_AMOUNT = "REVOPS_GATE_MAX_DEAL_AMOUNT"
ENV_AMOUNT_OUTLIER_FACTOR = "REVOPS_GATE_AMOUNT_OUTLIER_FACTOR"
ENV_MAX_UNLINKED_ACTIVITY_SHARE = "REVOPS_GATE_MAX_UNLINKED_ACTIVITY_SHARE"
ENV_HISTORY_BEFORE_CREATION_DAYS = "REVOPS_GATE_HISTORY_BEFORE_CREATION_DAYS"
NOT_TRACKED = "not_tracked"

# Expectation types the `gx` engine validates on value frequencies: the outcome of each
# depends on the set of distinct values only, so validating distinct values is exact.
GX_VALUE_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_value_lengths_to_be_between",
    }
)
GX_AGGREGATE_TYPES = frozenset(
    {
        "expect_column_max_to_be_between",
        "expect_column_min_to_be_between",
        "expect_column_distinct_values_to_be_in_set",
        "expect_column_distinct_values_to_contain_set",
    }
)
# Validated by GX on a zero-row frame with the table's columns.
GX_TABLE_TYPES = frozenset(
    {
        "expect_column_to_exist",
        "expect_table_columns_to_match_set",
    }
)
# Run as SQL by DuckDB. The first four are GX's own types; the others are ours.
SQL_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "unexpected_rows_expectation",
        "expect_column_values_to_parse_as_type",
        "expect_foreign_key_to_resolve",
        "expect_table_row_count_to_not_drop",
    }
)
GX_TYPES = GX_VALUE_TYPES | GX_AGGREGATE_TYPES | GX_TABLE_TYPES
ROW_COUNT = "__row_count"
CHECK_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PARAMETER_IN_SQL = re.compile(r"\$([a-z_][a-z0-9_]*)")


class SuiteError(ValueError):
    """An expectation suite file that the gate cannot use."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class GateSettings:
    """The gate's thresholds; each an environment variable with this default."""

    max_row_drop_rate: float = 0.5  # a table losing half or more of its rows is blocking
    freshness_days: int = 3  # the newest record no older than as_of_date - N days
    close_date_years_ahead: int = 5
    earliest_plausible_date: dt.date = dt.date(2000, 1, 1)
    memory_limit: str = "2GB"  # DuckDB's limit while the gate runs (it spills beyond)
    # plausibility (DECISIONS.md says why each default is what it is)
    max_deal_amount: float = 1_000_000_000.0  # one deal (or one monthly quota) above: blocking
    amount_outlier_factor: float = 100.0  # a deal above N x the median amount: warning
    max_unlinked_activity_share: float = 0.5  # more unlinked tasks/events than this: blocking
    history_before_creation_days: int = 1  # history this much before its deal was created: blocking

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GateSettings:
        env = os.environ if environ is None else environ
        default = cls()
        try:
            return cls(
                max_row_drop_rate=float(env.get(ENV_MAX_ROW_DROP_RATE) or default.max_row_drop_rate),
                freshness_days=int(env.get(ENV_FRESHNESS_DAYS) or default.freshness_days),
                close_date_years_ahead=int(
                    env.get(ENV_CLOSE_DATE_YEARS_AHEAD) or default.close_date_years_ahead
                ),
                memory_limit=env.get(ENV_MEMORY_LIMIT) or default.memory_limit,
                max_deal_amount=float(env.get(ENV_MAX_DEAL_AMOUNT) or default.max_deal_amount),
                amount_outlier_factor=float(
                    env.get(ENV_AMOUNT_OUTLIER_FACTOR) or default.amount_outlier_factor
                ),
                max_unlinked_activity_share=float(
                    env.get(ENV_MAX_UNLINKED_ACTIVITY_SHARE) or default.max_unlinked_activity_share
                ),
                history_before_creation_days=int(
                    env.get(ENV_HISTORY_BEFORE_CREATION_DAYS) or default.history_before_creation_days
                ),
            )
        except ValueError as error:
            raise SuiteError(f"a quality gate setting is not a number: {error}") from None


def known_stage_names(stage_map_path: Path = STAGE_MAP_PATH) -> list[str]:
    with open(stage_map_path, newline="", encoding="utf-8") as handle:
        return [row["stage_name"] for row in csv.DictReader(handle)]


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def gate_parameters(
    as_of_date: dt.date,
    gate_settings: GateSettings | None = None,
    *,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The values suites refer to as `{"$PARAMETER": name}` (or `$name` in SQL).

    "In the future" means after the later of as_of_date and today: a build of a past
    day sees records created since, and a record can never be newer than its extract.
    """
    gs = gate_settings or GateSettings()
    today = today or dt.datetime.now(dt.UTC).date()
    return {
        "as_of_date": as_of_date,
        "earliest_plausible_date": gs.earliest_plausible_date,
        "latest_close_date": _add_years(as_of_date, gs.close_date_years_ahead),
        "latest_created_date": max(as_of_date, today),
        "freshness_min_date": as_of_date - dt.timedelta(days=gs.freshness_days),
        "freshness_days": gs.freshness_days,
        "known_stage_names": known_stage_names(),
        "max_row_drop_rate": gs.max_row_drop_rate,
        "max_deal_amount": gs.max_deal_amount,
        "amount_outlier_factor": gs.amount_outlier_factor,
        "max_unlinked_activity_share": gs.max_unlinked_activity_share,
        "history_before_creation_days": gs.history_before_creation_days,
    }


# --------------------------------------------------------------------------- suites


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: Mapping[str, Any]
    meta: Mapping[str, Any]

    @property
    def check(self) -> str:
        return self.meta["check"]

    @property
    def severity(self) -> str:
        return self.meta.get("severity", BLOCKING)

    @property
    def engine(self) -> str:
        if self.meta.get("engine"):
            return self.meta["engine"]
        return "gx" if self.type in GX_TYPES else "duckdb"

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    @property
    def description(self) -> str:
        return self.meta.get("description") or _describe(self.type, self.kwargs)


@dataclass(frozen=True)
class CheckSpec:
    """One named check of a suite: what Dagster shows as an asset check."""

    layer: str
    table: str
    name: str
    severity: str
    description: str


@dataclass(frozen=True)
class Suite:
    name: str
    layer: str
    table: str
    example_columns: tuple[str, ...]
    expectations: tuple[Expectation, ...]
    path: Path
    # a boolean column marking soft-deleted rows (`is_deleted`): those rows are not
    # validated (DESIGN.md: they never count); foreign keys still resolve against them
    deleted_flag: str | None = None

    def checks(self) -> list[CheckSpec]:
        specs: dict[str, CheckSpec] = {}
        for exp in self.expectations:
            if exp.check not in specs:
                specs[exp.check] = CheckSpec(
                    self.layer,
                    self.table,
                    exp.check,
                    exp.severity,
                    exp.meta.get("check_description") or exp.description,
                )
        return list(specs.values())


def load_suite(path: Path) -> Suite:
    """Read and validate one suite file (GX's suite layout: name, expectations, meta)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SuiteError(f"{path}: not a readable JSON expectation suite ({error})") from None
    meta = data.get("meta") or {}
    layer, table = meta.get("layer"), meta.get("table")
    if layer not in LAYERS or not table:
        raise SuiteError(f"{path}: meta.layer must be one of {LAYERS} and meta.table set")
    expectations = []
    severities: dict[str, str] = {}
    for i, raw in enumerate(data.get("expectations") or []):
        exp = Expectation(
            type=raw.get("type") or raw.get("expectation_type") or "",
            kwargs=dict(raw.get("kwargs") or {}),
            meta=dict(raw.get("meta") or {}),
        )
        where = f"{path}: expectation {i + 1} ({exp.type})"
        if exp.type not in GX_TYPES | SQL_TYPES:
            raise SuiteError(f"{where}: unknown expectation type")
        if not CHECK_NAME.match(str(exp.meta.get("check", ""))):
            raise SuiteError(f"{where}: meta.check must be a snake_case check name")
        if exp.severity not in SEVERITIES:
            raise SuiteError(f"{where}: meta.severity must be one of {SEVERITIES}")
        if exp.engine == "gx" and exp.type not in GX_TYPES:
            raise SuiteError(f"{where}: the gx engine cannot run this type")
        if exp.engine == "duckdb" and exp.type not in SQL_TYPES:
            raise SuiteError(f"{where}: the duckdb engine cannot run this type")
        if severities.setdefault(exp.check, exp.severity) != exp.severity:
            raise SuiteError(f"{where}: check {exp.check} mixes severities")
        expectations.append(exp)
    default_examples = ["_source_file", "_source_row"] if layer == "raw" else []
    return Suite(
        name=data.get("name") or f"{layer}.{table}",
        layer=layer,
        table=table,
        example_columns=tuple(meta.get("example_columns") or default_examples),
        expectations=tuple(expectations),
        path=Path(path),
        deleted_flag=meta.get("deleted_flag"),
    )


def load_suites(layer: str, expectations_dir: Path = EXPECTATIONS_DIR) -> dict[str, Suite]:
    """Every suite of a layer, keyed by table name."""
    suites = {}
    for path in sorted((Path(expectations_dir) / layer).glob("*.json")):
        suite = load_suite(path)
        if suite.layer != layer:
            raise SuiteError(f"{path}: meta.layer is {suite.layer}, but the file is in {layer}/")
        suites[suite.table] = suite
    return suites


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Example:
    value: Any
    source: str = ""

    def render(self) -> str:
        text = _render_value(self.value)
        return f"{text} ({self.source})" if self.source else text

    def as_dict(self) -> dict[str, Any]:
        return {"value": _jsonable(self.value), "source": self.source}


@dataclass(frozen=True)
class ExpectationResult:
    expectation: Expectation
    passed: bool
    failing_rows: int | None = None  # None: not a row count (e.g. a stale maximum)
    examples: tuple[Example, ...] = ()
    detail: str = ""  # what is wrong, in words, without the examples
    not_tracked: bool = False  # skipped: the source does not have its column or object


@dataclass
class CheckOutcome:
    """The result of one named check on one table."""

    layer: str
    schema: str
    table: str
    check: str
    severity: str
    passed: bool
    failing_rows: int | None
    examples: list[Example]
    details: list[str]
    expectation_count: int
    seconds: float = 0.0
    not_tracked: str | None = None  # why the check was skipped: nothing it needs is tracked

    @property
    def status(self) -> str:
        """passed, failed, warned or not_tracked."""
        if self.not_tracked:
            return NOT_TRACKED
        if self.passed:
            return "passed"
        return "failed" if self.severity == BLOCKING else "warned"

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def is_blocking_failure(self) -> bool:
        return not self.passed and self.severity == BLOCKING

    @property
    def message(self) -> str:
        if self.not_tracked:
            return f"{self.qualified_table}: {self.check} not tracked ({self.not_tracked}): skipped"
        if self.passed:
            return f"{self.qualified_table}: {self.check} passed ({self.expectation_count} expectations)"
        rows = (
            ""
            if self.failing_rows is None
            else f" - {self.failing_rows:,} failing row{'s' if self.failing_rows != 1 else ''}"
        )
        text = f"{self.qualified_table}: check {self.check} failed ({self.severity}){rows}: " + "; ".join(
            self.details
        )
        if self.examples:
            text += ". Examples: " + ", ".join(e.render() for e in self.examples[:EXAMPLE_LIMIT])
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "table": self.qualified_table,
            "check": self.check,
            "severity": self.severity,
            "passed": self.passed,
            "status": self.status,
            "failing_rows": self.failing_rows,
            "examples": [e.as_dict() for e in self.examples[:EXAMPLE_LIMIT]],
            "message": self.message,
        }


@dataclass
class GateReport:
    layer: str
    outcomes: list[CheckOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.is_blocking_failure]

    @property
    def warnings(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.passed and o.severity == WARNING]

    @property
    def not_tracked(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.not_tracked]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    def summary(self) -> str:
        failed = len(self.blocking_failures)
        skipped = len(self.not_tracked)
        passed = len(self.outcomes) - failed - len(self.warnings) - skipped
        return (
            f"{self.layer} gate: {passed} checks passed, "
            f"{failed} blocking failures, {len(self.warnings)} warnings"
            + (f", {skipped} not tracked" if skipped else "")
            + f" ({self.seconds:.1f} s)"
        )


# --------------------------------------------------------------------------- the gate


def run_gate(
    con: duckdb.DuckDBPyConnection,
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
    """
    started = time.monotonic()
    suites = dict(suites if suites is not None else load_suites(layer))
    selected = [suites[t] for t in (tables if tables is not None else suites) if t in suites]
    report = GateReport(layer=layer)
    gx_runner = _GxRunner()
    coverage = read_coverage(con, schema) if layer == "raw" else None
    for suite in selected:
        report.outcomes.extend(
            _validate_suite(
                con, suite, schema, parameters, gx_runner, dict(baseline_row_counts or {}), coverage
            )
        )
    report.seconds = time.monotonic() - started
    return report


def table_row_counts(con: duckdb.DuckDBPyConnection, schema: str, tables: Iterable[str]) -> dict[str, int]:
    """Rows per table (tables that do not exist are left out)."""
    existing = _existing_tables(con, schema)
    return {
        t: con.execute(f"select count(*) from {_qualified(schema, t)}").fetchone()[0]
        for t in tables
        if t in existing
    }


def _validate_suite(
    con, suite: Suite, schema: str, parameters, gx_runner, baselines, coverage=None
) -> list[CheckOutcome]:
    started = time.monotonic()
    table = _Table(con, schema, suite.table, suite.example_columns, suite.deleted_flag)
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
        resolved = [(e, _resolve(e.kwargs, parameters)) for e in suite.expectations if id(e) not in skipped]
        gx_items = [(e, kw) for e, kw in resolved if e.engine == "gx"]
        by_index = {}
        for exp, result in gx_runner.validate(table, gx_items):
            by_index[id(exp)] = result
        for exp, kwargs in resolved:
            if exp.engine == "gx":
                results.append(by_index[id(exp)])
            else:
                results.append(_run_sql_expectation(table, exp, kwargs, parameters, baselines))
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


# --------------------------------------------------------------------------- helpers


def _qualified(schema: str, table: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def _existing_tables(con, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    return {r[0] for r in rows}


class _Table:
    """A table being validated: its columns and types, and how to show an example row."""

    def __init__(
        self, con, schema: str, name: str, example_columns: Sequence[str], deleted_flag: str | None = None
    ):
        self.con, self.schema, self.name = con, schema, name
        self.physical = self.qualified = _qualified(schema, name)
        self.display = f"{schema}.{name}"
        rows = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
        self.exists = bool(rows) or name in _existing_tables(con, schema)
        self.types = {c: t.upper() for c, t in rows}
        self.example_columns = [c for c in example_columns if c in self.types]
        if not self.example_columns and "id" in self.types:
            self.example_columns = ["id"]
        self._row_count: int | None = None
        if deleted_flag and deleted_flag in self.types:
            # the checks see live rows only: soft-deleted rows never count (DESIGN.md)
            self.qualified = (
                f"(select * from {self.physical} where {quote_identifier(deleted_flag)} is not true)"
            )
        self.filtered = self.qualified != self.physical

    @property
    def physical_row_count(self) -> int:
        """Every row, soft-deleted ones included (what the loader counted)."""
        if not self.filtered:
            return self.row_count
        return self.con.execute(f"select count(*) from {self.physical}").fetchone()[0]

    @property
    def row_count(self) -> int:
        if self._row_count is None:
            self._row_count = self.con.execute(f"select count(*) from {self.qualified}").fetchone()[0]
        return self._row_count

    def missing(self, columns: Iterable[str]) -> list[str]:
        return [c for c in columns if c and c not in self.types]

    def order_by(self) -> str:
        if not self.example_columns:
            return ""
        return " order by " + ", ".join(quote_identifier(c) for c in self.example_columns)

    def example_select(self) -> str:
        return ", ".join(quote_identifier(c) for c in self.example_columns)

    def source_of(self, values: Sequence[Any]) -> str:
        """Where an example row came from: `opportunity.csv line 14`, or its key."""
        cols = dict(zip(self.example_columns, values))
        if "_source_file" in cols:
            name = os.path.basename(str(cols["_source_file"]))
            unit = "line" if ".csv" in name.lower() else "row"
            row = cols.get("_source_row")
            return f"{name} {unit} {row}" if row is not None else name
        return ", ".join(f"{k}={_render_value(v)}" for k, v in cols.items())

    def examples(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Example, ...]:
        """Rows of `select value, <example columns> ...`, as examples."""
        rows = self.con.execute(sql, list(params or [])).fetchall()
        return tuple(Example(r[0], self.source_of(r[1:])) for r in rows[:EXAMPLE_LIMIT])


def _resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    """Replace `{"$PARAMETER": name}` by the run's value (GX's suite-parameter syntax)."""
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            name = value["$PARAMETER"]
            if name not in parameters:
                raise SuiteError(f"unknown suite parameter {name!r}")
            return parameters[name]
        return {k: _resolve(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, parameters) for v in value]
    return value


def _render_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    if isinstance(value, decimal.Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:-9] if text.endswith("T00:00:00") else text
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    return repr(value) if not hasattr(value, "item") else repr(value.item())


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return str(value)


def _describe(type_: str, kwargs: Mapping[str, Any]) -> str:
    col = kwargs.get("column")
    if type_ == "expect_column_values_to_not_be_null":
        return f"{col} is null"
    if type_ == "expect_column_values_to_be_in_set":
        return f"{col} not among the known values"
    if type_ == "expect_column_values_to_be_between":
        return f"{col} outside [{_bound(kwargs.get('min_value'))}, {_bound(kwargs.get('max_value'))}]"
    if type_ == "expect_column_max_to_be_between":
        return f"newest {col} outside [{_bound(kwargs.get('min_value'))}, {_bound(kwargs.get('max_value'))}]"
    if type_ == "expect_column_to_exist":
        return f"required column {col} is missing"
    if type_ == "expect_column_values_to_be_unique":
        return f"{col} is not unique"
    if type_ == "expect_compound_columns_to_be_unique":
        return f"({', '.join(kwargs.get('column_list', []))}) is not unique"
    if type_ == "expect_foreign_key_to_resolve":
        return f"{col} not found in {kwargs.get('to_table')}.{kwargs.get('to_column', 'id')}"
    if type_ == "expect_column_values_to_parse_as_type":
        return f"{col} does not parse as {kwargs.get('type_')}"
    if type_ == "expect_table_row_count_to_not_drop":
        return "row count collapsed against the last good load"
    return type_.replace("_", " ")


def _bound(value: Any) -> str:
    if value is None:
        return "..."
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- SQL engine


def _run_sql_expectation(table: _Table, exp: Expectation, kwargs, parameters, baselines) -> ExpectationResult:
    try:
        runner = _SQL_RUNNERS[exp.type]
        columns = [kwargs.get("column")] + list(kwargs.get("column_list") or [])
        missing = table.missing(c for c in columns if c)
        if missing:
            return ExpectationResult(
                exp, False, table.row_count, (), f"{exp.description}: column {', '.join(missing)} is missing"
            )
        return runner(table, exp, kwargs, parameters, baselines)
    except duckdb.Error as error:
        return ExpectationResult(
            exp, False, None, (), f"{exp.description}: the check could not run ({error})"
        )


def _sql_not_null(table: _Table, exp, kwargs, parameters, baselines) -> ExpectationResult:
    col = quote_identifier(kwargs["column"])
    where = f"from {table.qualified} where {col} is null"
    count = table.con.execute(f"select count(*) {where}").fetchone()[0]
    if count == 0:
        return ExpectationResult(exp, True)
    select = f"select {col}" + (f", {table.example_select()}" if table.example_columns else "")
    examples = table.examples(f"{select} {where}{table.order_by()} limit {EXAMPLE_LIMIT}")
    return ExpectationResult(exp, False, count, examples, exp.description)


def _sql_unique(table: _Table, exp, kwargs, parameters, baselines) -> ExpectationResult:
    """Rows whose key appears more than once (nulls count as equal, as in GROUP BY)."""
    columns = list(kwargs.get("column_list") or [kwargs["column"]])
    cols = ", ".join(quote_identifier(c) for c in columns)
    keys = table.con.execute(
        f"select count(*) from (select 1 from {table.qualified} group by {cols} having count(*) > 1)"
    ).fetchone()[0]
    if not keys:
        return ExpectationResult(exp, True)
    counted = f"(select *, count(*) over (partition by {cols}) as __revops_n from {table.qualified})"
    count = table.con.execute(f"select count(*) from {counted} where __revops_n > 1").fetchone()[0]
    value = f"row({cols})" if len(columns) > 1 else cols
    extra = f", {table.example_select()}" if table.example_columns else ""
    order = ", ".join([cols] + [quote_identifier(c) for c in table.example_columns])
    examples = table.examples(
        f"select {value}{extra} from {counted} where __revops_n > 1 order by {order} limit {EXAMPLE_LIMIT}"
    )
    if len(columns) > 1:
        examples = tuple(Example(_Raw(_render_key(columns, e.value)), e.source) for e in examples)
    detail = f"{exp.description}: {keys:,} value{'s appear' if keys != 1 else ' appears'} more than once"
    return ExpectationResult(exp, False, int(count), examples, detail)


def _render_key(columns: Sequence[str], value: Any) -> str:
    values = list(value.values()) if isinstance(value, dict) else list(value or [])
    return "(" + ", ".join(f"{c}={_render_value(v)}" for c, v in zip(columns, values)) + ")"


def _sql_parse_as_type(table: _Table, exp, kwargs, parameters, baselines) -> ExpectationResult:
    column, type_ = kwargs["column"], str(kwargs["type_"]).upper()
    actual = table.types[column]
    if _same_type(actual, type_):
        return ExpectationResult(exp, True)
    col = quote_identifier(column)
    where = f"from {table.qualified} where {col} is not null and try_cast({col} as {type_}) is null"
    count = table.con.execute(f"select count(*) {where}").fetchone()[0]
    if count == 0:
        return ExpectationResult(exp, True)
    select = f"select {col}" + (f", {table.example_select()}" if table.example_columns else "")
    examples = table.examples(f"{select} {where}{table.order_by()} limit {EXAMPLE_LIMIT}")
    return ExpectationResult(exp, False, count, examples, f"{exp.description} (stored as {actual})")


def _same_type(actual: str, declared: str) -> bool:
    aliases = {
        "INTEGER": "BIGINT",
        "INT": "BIGINT",
        "FLOAT": "DOUBLE",
        "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    }
    return aliases.get(actual, actual) == aliases.get(declared, declared)


def _sql_foreign_key(table: _Table, exp, kwargs, parameters, baselines) -> ExpectationResult:
    col = quote_identifier(kwargs["column"])
    other = _Table(table.con, table.schema, kwargs["to_table"], ())
    to_column = kwargs.get("to_column", "id")
    if not other.exists or other.missing([to_column]):
        return ExpectationResult(
            exp, False, None, (), f"{exp.description}: {other.display}.{to_column} does not exist"
        )
    where = (
        f"from {table.qualified} t where t.{col} is not null and not exists "
        f"(select 1 from {other.qualified} o where o.{quote_identifier(to_column)} = t.{col})"
    )
    count, values = table.con.execute(f"select count(*), count(distinct t.{col}) {where}").fetchone()
    if count == 0:
        return ExpectationResult(exp, True)
    extra = ", ".join(f"t.{quote_identifier(c)}" for c in table.example_columns)
    order = f" order by {extra}" if extra else ""
    examples = table.examples(
        f"select t.{col}{', ' + extra if extra else ''} {where}{order} limit {EXAMPLE_LIMIT}"
    )
    detail = f"{exp.description} ({values:,} unknown value{'s' if values != 1 else ''})"
    return ExpectationResult(exp, False, count, examples, detail)


def _sql_row_count(table: _Table, exp, kwargs, parameters, baselines) -> ExpectationResult:
    baseline = baselines.get(table.name)
    rows = table.physical_row_count
    if not baseline:
        return ExpectationResult(exp, True, detail="no earlier good load to compare with")
    max_drop = float(kwargs.get("max_drop_rate", 0.5))
    if rows > baseline * (1 - max_drop):
        return ExpectationResult(exp, True)
    drop = 1 - rows / baseline
    detail = (
        f"{table.display} has {rows:,} rows, {drop:.0%} fewer than the {baseline:,} of the last good "
        f"load (losing {max_drop:.0%} or more is blocking: REVOPS_GATE_MAX_ROW_DROP_RATE)"
    )
    return ExpectationResult(exp, False, baseline - rows, (), detail)


def _sql_unexpected_rows(table: _Table, exp, kwargs, parameters, baselines) -> ExpectationResult:
    query = (
        kwargs["unexpected_rows_query"]
        .replace("{batch}", table.qualified)
        .replace("{schema}", quote_identifier(table.schema))
    )
    names = sorted(set(PARAMETER_IN_SQL.findall(query)))
    params = {n: parameters[n] for n in names}
    con = table.con
    count = con.execute(f"select count(*) from ({query})", params).fetchone()[0]
    if count == 0:
        return ExpectationResult(exp, True)
    relation = con.execute(f"select * from ({query}) limit {EXAMPLE_LIMIT * 20}", params)
    columns = [d[0] for d in relation.description]
    rows = relation.fetchall()
    source_cols = [c for c in table.example_columns if c in columns]
    if source_cols:
        rows.sort(key=lambda r: tuple(_sort_key(r[columns.index(c)]) for c in source_cols))
    value_cols = [c for c in columns if c not in ("_source_file", "_source_row")][:4]
    examples = []
    for row in rows[:EXAMPLE_LIMIT]:
        record = dict(zip(columns, row))
        value = ", ".join(f"{c}={_render_value(record[c])}" for c in value_cols)
        source = table.source_of([record.get(c) for c in table.example_columns]) if source_cols else ""
        examples.append(Example(_Raw(value), source))
    return ExpectationResult(exp, False, count, tuple(examples), exp.description)


class _Raw(str):
    """An example already rendered as text (shown without quotes)."""

    def __repr__(self) -> str:
        return str(self)


def _sort_key(value: Any):
    return (value is None, str(value) if not isinstance(value, (int, float)) else value)


_SQL_RUNNERS = {
    "expect_column_values_to_not_be_null": _sql_not_null,
    "expect_column_values_to_be_unique": _sql_unique,
    "expect_compound_columns_to_be_unique": _sql_unique,
    "expect_column_values_to_parse_as_type": _sql_parse_as_type,
    "expect_foreign_key_to_resolve": _sql_foreign_key,
    "expect_table_row_count_to_not_drop": _sql_row_count,
    "unexpected_rows_expectation": _sql_unexpected_rows,
}


# --------------------------------------------------------------------------- GX engine


class _GxRunner:
    """Great Expectations on pandas, through an ephemeral context (nothing on disk).

    GX is imported on first use: it takes seconds to import, and the Dagster
    definitions import this module.
    """

    def __init__(self):
        self._context = None
        self._datasource = None
        self._batch_definitions: dict[str, Any] = {}

    def _start(self):
        if self._context is not None:
            return
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import logging

        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self._gx = gx
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._datasource = self._context.data_sources.add_pandas("revops_quality_gate")

    def _batch(self, name: str, frame):
        if name not in self._batch_definitions:
            asset = self._datasource.add_dataframe_asset(name=name)
            self._batch_definitions[name] = asset.add_batch_definition_whole_dataframe("whole")
        return self._batch_definitions[name].get_batch(batch_parameters={"dataframe": frame})

    def _validate(self, name: str, frame, items: list[tuple[Expectation, dict]]):
        """GX results of `items` on `frame`, in the order of `items`.

        A GX suite keeps one of equal expectations, so equal ones are validated once.
        """
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        suite = self._gx.ExpectationSuite(name=name)
        keys = [json.dumps([exp.type, kwargs], sort_keys=True, default=str) for exp, kwargs in items]
        first: dict[str, int] = {}
        for index, ((exp, kwargs), key) in enumerate(zip(items, keys)):
            if key in first:
                continue
            first[key] = index
            config = ExpectationConfiguration(type=exp.type, kwargs=kwargs, meta={"revops_index": index})
            suite.add_expectation(config.to_domain_obj())
        validation = self._batch(name, frame).validate(suite, result_format={"result_format": "COMPLETE"})
        by_index = {r.expectation_config.meta["revops_index"]: r for r in validation.results}
        return [by_index[first[key]] for key in keys]

    def validate(self, table: _Table, items: list[tuple[Expectation, dict]]):
        """Yield (expectation, ExpectationResult) for the gx expectations of one table."""
        if not items:
            return
        self._start()
        table_items = [(e, kw) for e, kw in items if e.type in GX_TABLE_TYPES]
        if table_items:
            frame = table.con.execute(f"select * from {table.qualified} limit 0").df()
            for (exp, kwargs), result in zip(
                table_items, self._validate(f"{table.display}.columns", frame, table_items)
            ):
                yield exp, self._table_result(table, exp, kwargs, result)
        by_column: dict[str, list[tuple[Expectation, dict]]] = {}
        for exp, kwargs in items:
            if exp.type not in GX_TABLE_TYPES:
                by_column.setdefault(exp.column, []).append((exp, kwargs))
        for column, column_items in by_column.items():
            missing = table.missing([column])
            if missing:
                for exp, _ in column_items:
                    yield (
                        exp,
                        ExpectationResult(
                            exp, False, table.row_count, (), f"{exp.description}: column {column} is missing"
                        ),
                    )
                continue
            temporal = _is_temporal(table.types[column]) or any(
                _has_temporal_bound(kw) for _, kw in column_items
            )
            projection = _projection(column, table.types[column], temporal)
            frame = table.con.execute(
                f"select {projection} as {quote_identifier(column)}, count(*) as {ROW_COUNT} "
                f"from {table.qualified} group by all"
            ).df()
            gx_items = [(exp, _gx_kwargs(kw, temporal)) for exp, kw in column_items]
            results = self._validate(f"{table.display}.{column}", frame, gx_items)
            for (exp, kwargs), result in zip(column_items, results):
                yield exp, self._column_result(table, exp, kwargs, result, frame, projection)

    def _table_result(self, table: _Table, exp, kwargs, result) -> ExpectationResult:
        error = _gx_error(result)
        if error:
            return ExpectationResult(exp, False, None, (), f"{exp.description}: {error}")
        if result.success:
            return ExpectationResult(exp, True)
        detail = exp.description
        observed = (result.result or {}).get("details", {}).get("mismatched")
        if observed:
            detail += f" ({json.dumps(observed, default=str)})"
        return ExpectationResult(exp, False, table.row_count, (), detail)

    def _column_result(self, table: _Table, exp, kwargs, result, frame, projection) -> ExpectationResult:
        error = _gx_error(result)
        if error:
            return ExpectationResult(exp, False, None, (), f"{exp.description}: {error}")
        info = result.result or {}
        if exp.type in GX_AGGREGATE_TYPES:
            if result.success:
                return ExpectationResult(exp, True)
            return self._aggregate_failure(table, exp, kwargs, info, frame, projection)
        index = info.get("unexpected_index_list") or []
        bad = frame.loc[list(index)]
        failing = int(bad[ROW_COUNT].sum()) if len(bad) else 0
        if exp.type == "expect_column_values_to_not_be_null":
            considered = int(frame[ROW_COUNT].sum())
        else:
            considered = int(frame.loc[frame[exp.column].notna(), ROW_COUNT].sum())
        mostly = float(kwargs.get("mostly", 1.0))
        passed = failing == 0 or (considered > 0 and failing / considered <= 1 - mostly)
        if passed:
            return ExpectationResult(exp, True)
        examples = _examples_for_values(table, exp.column, projection, bad[[exp.column]])
        detail = exp.description
        if len(bad) > 1:
            detail += f" ({len(bad):,} distinct values)"
        return ExpectationResult(exp, False, failing, examples, detail)

    def _aggregate_failure(self, table: _Table, exp, kwargs, info, frame, projection) -> ExpectationResult:
        """A minimum or maximum out of bounds: the rows that hold it are the examples; for
        a stale maximum (freshness) every row is older than the bound, so all count."""
        observed = info.get("observed_value")
        detail = f"{exp.description}: it is {_render_value(observed)}"
        bounds = [b for b in (kwargs.get("min_value"), kwargs.get("max_value")) if b is not None]
        if bounds:
            detail += (
                f", expected within [{_bound(kwargs.get('min_value'))}, {_bound(kwargs.get('max_value'))}]"
            )
        if exp.type not in ("expect_column_max_to_be_between", "expect_column_min_to_be_between"):
            return ExpectationResult(exp, False, None, (), detail)
        values = frame[exp.column]
        bounds_kw = _gx_kwargs(kwargs, str(values.dtype).startswith("datetime"))
        outside = values.notna() & False
        if bounds_kw.get("min_value") is not None:
            outside |= values < bounds_kw["min_value"]
        if bounds_kw.get("max_value") is not None:
            outside |= values > bounds_kw["max_value"]
        failing = int(frame.loc[outside, ROW_COUNT].sum())
        extreme = values.max() if exp.type == "expect_column_max_to_be_between" else values.min()
        examples = _examples_for_values(
            table, exp.column, projection, frame.loc[values == extreme, [exp.column]]
        )
        return ExpectationResult(exp, False, failing, examples, detail)


def _gx_error(result) -> str | None:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return f"the check could not run ({info.get('exception_message')})"
    for value in info.values():  # GX 1.x: one entry per metric
        if isinstance(value, dict) and value.get("raised_exception"):
            return f"the check could not run ({value.get('exception_message')})"
    return None


def _is_temporal(duckdb_type: str) -> bool:
    return duckdb_type == "DATE" or duckdb_type.startswith("TIMESTAMP")


def _has_temporal_bound(kwargs: Mapping[str, Any]) -> bool:
    values = [kwargs.get("min_value"), kwargs.get("max_value"), *(kwargs.get("value_set") or [])]
    return any(isinstance(v, dt.date) for v in values)


def _projection(column: str, duckdb_type: str, temporal: bool) -> str:
    """Dates of timestamps (UTC, as stored): plausibility and freshness are by day."""
    col = quote_identifier(column)
    if not temporal:
        return col
    if duckdb_type == "DATE":
        day = col
    elif duckdb_type.startswith("TIMESTAMP"):
        day = f"cast({col} as date)"
    else:
        day = f"cast(try_cast({col} as timestamp) as date)"
    # pandas cannot hold infinity or years far out: such days become the nearest bound,
    # which fails every plausibility range and keeps the row findable for the examples
    low, high = "date '1700-01-01'", "date '2200-12-31'"
    return f"(case when {day} < {low} then {low} when {day} > {high} then {high} else {day} end)"


def _gx_kwargs(kwargs: Mapping[str, Any], temporal: bool) -> dict[str, Any]:
    """Dates become datetimes: DuckDB dates arrive in pandas as datetime64."""
    out = dict(kwargs)
    if temporal:
        for key in ("min_value", "max_value"):
            value = out.get(key)
            if isinstance(value, str):
                value = dt.date.fromisoformat(value[:10])
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                out[key] = dt.datetime(value.year, value.month, value.day)
    if isinstance(out.get("value_set"), (set, tuple, list)):
        out["value_set"] = [_as_datetime(v) if temporal else v for v in out["value_set"]]
    return out


def _as_datetime(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def _examples_for_values(table: _Table, column: str, projection: str, bad_values) -> tuple[Example, ...]:
    """Up to five rows holding one of the bad values, in file order, with their source."""
    if not len(bad_values):
        return ()
    has_null = bool(bad_values[column].isna().any())
    values = bad_values[bad_values[column].notna()]
    con = table.con
    extra = f", {table.example_select()}" if table.example_columns else ""
    conditions = []
    view = f"__revops_bad_values_{abs(hash((table.display, column))) % 10**8}"
    if len(values):
        con.register(view, values)
        conditions.append(f"{projection} in (select {quote_identifier(column)} from {view})")
    if has_null:
        conditions.append(f"{projection} is null")
    try:
        return table.examples(
            f"select {quote_identifier(column)}{extra} from {table.qualified} where {' or '.join(conditions)}"
            f"{table.order_by()} limit {EXAMPLE_LIMIT}"
        )
    finally:
        if len(values):
            con.unregister(view)


# --------------------------------------------------------------------------- entry points


def load_log_previous_counts(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, int]:
    """Row counts of the previous load of a different file, from the loader's `_load_log`."""
    if "_load_log" not in _existing_tables(con, schema):
        return {}
    rows = con.execute(
        f"select object, previous_row_count from {_qualified(schema, '_load_log')} "
        "where previous_row_count is not null"
    ).fetchall()
    return {name: int(count) for name, count in rows}


def validate_raw_tables(
    settings,
    *,
    gate_settings: GateSettings | None = None,
    baseline_row_counts: Mapping[str, int] | None = None,
) -> GateReport:
    """The raw gate on the working warehouse of `settings` (a `revops.settings.Settings`).

    `baseline_row_counts`: the raw row counts of the last good (published) load; when
    there is none yet, the loader's `_load_log` previous counts stand in."""
    gate_settings = gate_settings or GateSettings.from_env()
    with _gate_connection(settings, gate_settings) as con:
        if not baseline_row_counts:
            baseline_row_counts = load_log_previous_counts(con, settings.raw_schema)
        return run_gate(
            con,
            "raw",
            schema=settings.raw_schema,
            parameters=gate_parameters(settings.resolved_as_of_date(), gate_settings),
            baseline_row_counts=baseline_row_counts,
        )


def validate_marts(
    settings, marts: Iterable[str] | None = None, *, gate_settings: GateSettings | None = None
) -> GateReport:
    """The mart gate on the working warehouse of `settings`; `marts` limits it to some suites."""
    gate_settings = gate_settings or GateSettings.from_env()
    with _gate_connection(settings, gate_settings) as con:
        return run_gate(
            con,
            "marts",
            schema="marts",
            parameters=gate_parameters(settings.resolved_as_of_date(), gate_settings),
            tables=list(marts) if marts is not None else None,
        )


@contextlib.contextmanager
def _gate_connection(settings, gate_settings: GateSettings):
    """The working warehouse, with DuckDB's memory capped while the gate runs."""
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        previous = con.execute("select current_setting('memory_limit')").fetchone()[0]
        con.execute("set memory_limit = ?", [gate_settings.memory_limit])
        try:
            yield con
        finally:
            con.execute("set memory_limit = ?", [previous])
    finally:
        con.close()
