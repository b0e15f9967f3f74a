"""What the gate reports: an example value and where it came from, the result of one expectation,
the outcome of one named check on one table, and a layer's report.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field
from typing import Any

from revops.quality.suites import BLOCKING, EXAMPLE_LIMIT, NOT_TRACKED, WARNING, Expectation


@dataclass(frozen=True)
class Example:
    value: Any
    source: str = ""

    def render(self) -> str:
        text = render_value(self.value)
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
    engine: str = "duckdb"  # where the tables were validated: duckdb or postgres
    where: str = ""  # that warehouse in words (PostgreSQL: its database and host)

    @property
    def ran_in(self) -> str:
        """`DuckDB` or `PostgreSQL (database revops on 127.0.0.1:5432)`."""
        name = {"duckdb": "DuckDB", "postgres": "PostgreSQL"}.get(self.engine, self.engine)
        return f"{name} ({self.where})" if self.where else name

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
            + f" ({self.seconds:.1f} s, in {self.ran_in})"
        )


def render_value(value: Any) -> str:
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


class RenderedText(str):
    """An example already rendered as text (shown without quotes)."""

    def __repr__(self) -> str:
        return str(self)
