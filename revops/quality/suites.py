"""The suite files: what an expectation, a named check and a suite are, read and validated from
`expectations/raw/<table>.json`; the run's values substituted for `{"$PARAMETER": name}`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revops.paths import EXPECTATIONS_DIR

LAYERS = ("raw",)  # the marts are gated by their dbt tests


BLOCKING = "blocking"


WARNING = "warning"


SEVERITIES = (BLOCKING, WARNING)


EXAMPLE_LIMIT = 5


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


def resolve_parameters(value: Any, parameters: Mapping[str, Any]) -> Any:
    """Replace `{"$PARAMETER": name}` by the run's value (GX's suite-parameter syntax)."""
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            name = value["$PARAMETER"]
            if name not in parameters:
                raise SuiteError(f"unknown suite parameter {name!r}")
            return parameters[name]
        return {k: resolve_parameters(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_parameters(v, parameters) for v in value]
    return value


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
